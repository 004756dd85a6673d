// Starts Swagger UI on chatd's API reference page (/docs). It is a file of its own because
// the page's Content-Security-Policy (script-src 'self') runs no inline script.
//
// "Try it out" sends its requests from this page to chatd itself (same origin). A bearer
// token entered under Authorize (an access token from POST /auth/login, or an API key) is
// kept in this tab's memory only: persistAuthorization is off, so it is never written to
// localStorage, and it is gone with the tab, as the web UI's own access token is.
/* global SwaggerUIBundle */
(function () {
  'use strict';
  window.ui = SwaggerUIBundle({
    url: '/openapi.json',
    dom_id: '#swagger-ui',
    // The standard layout without the standalone preset's top bar (which would offer to
    // load any other URL's document): this page shows chatd's API only.
    presets: [SwaggerUIBundle.presets.apis],
    layout: 'BaseLayout',
    deepLinking: true, // #/tag/operationId in the address, shareable
    persistAuthorization: false,
    tryItOutEnabled: false, // "Try it out" is clicked per operation
    queryConfigEnabled: false, // no configuration (such as ?url=) from the address
    validatorUrl: null, // no badge image from the public validator (another origin)
    docExpansion: 'list',
    defaultModelsExpandDepth: 0,
    displayRequestDuration: true,
    filter: true,
  });
})();
