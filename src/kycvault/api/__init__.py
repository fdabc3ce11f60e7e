"""HTTP layer: parsing, authentication, status codes and OpenAPI. No business rules."""
