// Swagger UI over this server's /openapi.json (a file, not inline: strict CSP friendly).
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  window.SwaggerUIBundle({ url: "/openapi.json", dom_id: "#swagger-ui", deepLinking: true });
});
