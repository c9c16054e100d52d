"""gunicorn's settings, read from the directory it starts in (the image's /app, the
checkout): every command that starts gunicorn here gets them.

No request runs an import or the nightly pipeline: those run on the Celery worker, so
the request timeout only has to cover the slowest page and an upload. An upload of an
import file (up to IMPORT_UPLOAD_MAX_BYTES, 200 MB) is streamed to a temporary file
and moved, then only its header and first rows are read; 120 s covers 200 MB at about
14 Mbit/s. Behind nginx, which buffers a request body before passing it on (the
default), gunicorn receives the file at local speed whatever the visitor's line.
"""

timeout = 120


def post_worker_init(worker):
    """Once a worker has loaded the site, move what it loaded (Django, the apps, pandas:
    some hundreds of thousands of objects that live as long as the worker) out of the
    cyclic garbage collector's reach. Its full collections then scan only what requests
    allocate, instead of pausing a request now and then for about 100 ms (measured on the
    network page at a million customers, bench/README.md)."""
    import gc

    gc.freeze()
