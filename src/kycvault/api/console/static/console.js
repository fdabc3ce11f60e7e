// kycvault console: small progressive enhancements, no framework. Every page works without
// this file; the Content-Security-Policy allows scripts from this origin only.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  // A form that asks for confirmation (data-confirm="…") before it is sent.
  for (const form of document.querySelectorAll("form[data-confirm]")) {
    form.addEventListener("submit", (event) => {
      if (!window.confirm(form.dataset.confirm)) {
        event.preventDefault();
      }
    });
  }
  // A submit button is disabled once its form is sent, so a double click sends it once.
  for (const form of document.querySelectorAll("form")) {
    form.addEventListener("submit", () => {
      for (const button of form.querySelectorAll("button[type=submit]")) {
        button.disabled = true;
      }
    });
  }
});

// The document page: zoom and rotate a scan (data-viewer figures), in the browser only; a
// PDF's pages after the first, drawn by the server, added once it says how many there are.
document.addEventListener("DOMContentLoaded", () => {
  for (const figure of document.querySelectorAll("[data-viewer]")) {
    let scale = 1;
    let turn = 0;
    const apply = () => {
      for (const image of figure.querySelectorAll("img.scan")) {
        image.style.transform = `rotate(${turn * 90}deg)`;
        image.style.maxWidth = scale > 1 ? "none" : "";
        image.style.width = scale !== 1 ? `${scale * 100}%` : "";
      }
    };
    for (const button of figure.querySelectorAll("[data-zoom]")) {
      button.addEventListener("click", () => {
        scale = button.dataset.zoom === "in" ? Math.min(scale * 1.5, 8) : Math.max(scale / 1.5, 0.25);
        apply();
      });
    }
    figure.querySelector("[data-rotate]")?.addEventListener("click", () => {
      turn = (turn + 1) % 4;
      apply();
    });
    figure.querySelector("[data-reset]")?.addEventListener("click", () => {
      scale = 1;
      turn = 0;
      apply();
    });
    const pages = figure.querySelector("[data-pdf-pages]");
    if (pages) {
      const base = pages.dataset.pdfPages;
      fetch(`${base}/1`, { credentials: "same-origin" }).then((response) => {
        const count = response.ok ? parseInt(response.headers.get("x-page-count") || "1", 10) : 1;
        for (let page = 2; page <= count; page += 1) {
          const image = document.createElement("img");
          image.src = `${base}/${page}`;
          image.alt = `Page ${page}`;
          image.className = "scan";
          image.loading = "lazy";
          pages.append(image);
        }
        apply();
      });
    }
  }
  // A download leaves the page where it is: its button works again for the next file.
  for (const form of document.querySelectorAll("form[data-reusable]")) {
    form.addEventListener("submit", () => {
      window.setTimeout(() => {
        for (const button of form.querySelectorAll("button")) {
          button.disabled = false;
        }
      }, 1500);
    });
  }
});
