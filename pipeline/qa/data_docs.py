"""Make a built Data Docs site render with no network.

Great Expectations' page templates load Bootstrap, jQuery, Font Awesome, Vega... from public
CDNs. The same files, taken from the npm registry (``static/NOTICE.md``), are copied into the
site's ``static/vendor/`` and every CDN URL in the built HTML is rewritten to a relative path.
Subresource-integrity attributes are dropped with them: a browser refuses ``crossorigin``
scripts from ``file://``. The remote GX logo becomes the logo the site ships.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

VENDOR = Path(__file__).with_name("static") / "vendor"

#: CDN URL in GX's templates -> file under static/vendor/
CDN_TO_LOCAL = {
    "https://maxcdn.bootstrapcdn.com/bootstrap/4.3.1/css/bootstrap.min.css": "bootstrap/css/bootstrap.min.css",
    "https://stackpath.bootstrapcdn.com/bootstrap/4.3.1/js/bootstrap.min.js": "bootstrap/js/bootstrap.min.js",
    "https://unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.css": "bootstrap-table/bootstrap-table.min.css",
    "https://unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.js": "bootstrap-table/bootstrap-table.min.js",
    "https://unpkg.com/bootstrap-table@1.19.1/dist/extensions/filter-control/bootstrap-table-filter-control.min.js":
        "bootstrap-table/extensions/filter-control/bootstrap-table-filter-control.min.js",
    "https://unpkg.com/bootstrap-table@1.19.0/dist/extensions/filter-control/bootstrap-table-filter-control.min.css":
        "bootstrap-table/extensions/filter-control/bootstrap-table-filter-control.min.css",
    "https://unpkg.com/bootstrap-table@1.19.0/dist/extensions/filter-control/bootstrap-table-filter-control.css":
        "bootstrap-table/extensions/filter-control/bootstrap-table-filter-control.css",
    "https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0/css/bootstrap-datepicker.min.css":
        "bootstrap-datepicker/bootstrap-datepicker.min.css",
    "https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0/js/bootstrap-datepicker.min.js":
        "bootstrap-datepicker/bootstrap-datepicker.min.js",
    "https://cdn.jsdelivr.net/npm/@forevolve/bootstrap-dark@1.1.0/dist/css/bootstrap-prefers-dark.css":
        "bootstrap-dark/bootstrap-prefers-dark.min.css",
    "https://cdnjs.cloudflare.com/ajax/libs/font-awesome/6.6.0/css/all.min.css": "fontawesome/css/all.min.css",
    "https://code.jquery.com/jquery-3.7.1.min.js": "jquery/jquery.min.js",
    "https://cdnjs.cloudflare.com/ajax/libs/popper.js/1.12.9/umd/popper.min.js": "popper/popper.min.js",
    "https://cdn.jsdelivr.net/npm/vega@5": "vega/vega.min.js",
    "https://cdn.jsdelivr.net/npm/vega-lite@5": "vega/vega-lite.min.js",
    "https://cdn.jsdelivr.net/npm/vega-embed@6": "vega/vega-embed.min.js",
}
_LOGO = re.compile(r"https://great-expectations-web-assets\.s3\.[a-z0-9-]+\.amazonaws\.com/[a-z_-]+\.png(\?d=[0-9TZ.]+)?")
_SRI = re.compile(r'\s+(integrity="[^"]*"|crossorigin="[^"]*")')
#: a stylesheet or script still loaded from the network
REMOTE_ASSET = re.compile(r'<(?:link[^>]*href|script[^>]*src)="(https?://[^"]+)"')


def make_offline(site: Path) -> list[Path]:
    """Vendor the CDN assets into ``site/static/vendor`` and point every page at them."""
    site = Path(site)
    shutil.copytree(VENDOR, site / "static" / "vendor", dirs_exist_ok=True)
    pages = sorted(site.rglob("*.html"))
    for page in pages:
        to_static = Path(os.path.relpath(site / "static", page.parent)).as_posix()
        html = page.read_text(encoding="utf-8")
        for url, local in CDN_TO_LOCAL.items():
            html = html.replace(f'"{url}"', f'"{to_static}/vendor/{local}"')
        html = _LOGO.sub(f"{to_static}/images/logo-long.png", html)
        html = _SRI.sub("", html)
        page.write_text(html, encoding="utf-8")
    return pages


def remote_assets(page: Path) -> list[str]:
    """Stylesheet and script URLs of a page that would need the network (should be none)."""
    return REMOTE_ASSET.findall(Path(page).read_text(encoding="utf-8"))
