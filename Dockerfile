# syntax=docker/dockerfile:1
# kycvault's image: `kycvault serve` by default, `kycvault worker` (or any other command) as
# the container's arguments. Every install step is scripts/container-install, which CI runs
# too. Built for a read-only root filesystem: the data directory (/var/lib/kycvault) is a
# volume and /tmp a tmpfs; nothing else is written. See README, "Running in production".
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# Builder: a virtual environment holding exactly requirements.lock (hashes checked) and the
# kycvault wheel built from this tree.
FROM ${PYTHON_IMAGE} AS builder
WORKDIR /build
COPY requirements.lock ./
COPY scripts/container-install scripts/
RUN scripts/container-install deps /opt/kycvault
COPY pyproject.toml README.md ./
COPY src/ src/
RUN scripts/container-install project /opt/kycvault \
    && scripts/container-install check /opt/kycvault

# Runtime: the environment, Tesseract with the OCR-B font and libseccomp, an unprivileged user.
FROM ${PYTHON_IMAGE} AS runtime
RUN --mount=type=bind,source=scripts/container-install,target=/usr/local/sbin/container-install \
    container-install system --clean \
    && container-install user
COPY --from=builder /opt/kycvault /opt/kycvault
COPY scripts/container-healthcheck /usr/local/bin/kycvault-healthcheck
# Bytecode was compiled at install time; the read-only root takes no more. The server listens
# on every interface of the container; its data directory is the volume below.
ENV PATH=/opt/kycvault/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    TMPDIR=/tmp \
    KYCVAULT_HOST=0.0.0.0 \
    KYCVAULT_DATA_DIR=/var/lib/kycvault
USER 10001:10001
WORKDIR /var/lib/kycvault
VOLUME ["/var/lib/kycvault"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "/usr/local/bin/kycvault-healthcheck"]
ENTRYPOINT ["kycvault"]
CMD ["serve"]
