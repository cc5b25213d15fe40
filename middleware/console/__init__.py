"""The web console (contract 6.5): ``GET /console``, served by ``candor serve`` itself.

Auditors sign in with the auditor key and read; admins sign in with the admin key and may also act.
Pages are rendered on the server (Jinja2); the only scripts are files under ``static/`` (the console's
own ``console.js`` and the vendored Chart.js, MIT, see ``static/chart.js.LICENSE.md``), so the
Content-Security-Policy forbids inline scripts and every other host.

Modules: ``session`` (signed session cookies, CSRF tokens), ``i18n`` (English and Chinese), ``web``
(rendering, security headers, the session guard), ``overview`` / ``eventsq`` (queries over the audit
log), and one module of routes per area (``auth_pages``, ``overview_pages``, ``event_pages``,
``integrity_pages``, ``ops_pages``); ``routes.console_routes`` assembles them.
"""
