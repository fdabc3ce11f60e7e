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
