"""Production serves static files from what `collectstatic` builds with WhiteNoise's
manifest storage. Post-processing follows every reference inside CSS and JS files
(url(), source maps) and fails on one that points at a missing file, so a vendored
file with a dangling reference would stop the site from starting."""

import json

from django.core.management import call_command

MANIFEST_STORAGE = "whitenoise.storage.CompressedManifestStaticFilesStorage"
LINKED_BY_EVERY_PAGE = (
    "crm.css",
    "vendor/bootstrap/bootstrap.min.css",
    "vendor/bootstrap/bootstrap.bundle.min.js",
)


def test_collectstatic_builds_the_manifest_for_every_static_file(settings, tmp_path):
    settings.STATIC_ROOT = tmp_path
    settings.STORAGES = {**settings.STORAGES, "staticfiles": {"BACKEND": MANIFEST_STORAGE}}

    call_command("collectstatic", interactive=False, verbosity=0)

    paths = json.loads((tmp_path / "staticfiles.json").read_text())["paths"]
    for name in LINKED_BY_EVERY_PAGE:
        hashed = paths[name]
        assert hashed != name and (tmp_path / hashed).is_file()
        assert (tmp_path / f"{hashed}.gz").is_file()
