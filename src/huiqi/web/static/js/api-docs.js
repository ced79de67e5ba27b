// The API docs page: Swagger UI (vendored from npm) on this server's /openapi.json.
window.addEventListener("load", function () {
  "use strict";
  window.SwaggerUIBundle({ url: "/openapi.json", dom_id: "#swagger-ui", deepLinking: true, syntaxHighlight: false });
});
