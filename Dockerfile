# The CRM's one image: the web site (gunicorn), the Celery worker and beat.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# Dependencies first, so that a code change does not reinstall them
# (pyproject.toml declares no packages: `pip install .` brings the dependencies).
COPY pyproject.toml ./
RUN pip install .

COPY . .
RUN useradd --create-home --uid 1000 crm \
    && mkdir -p var/static var/private \
    && chown -R crm:crm var
USER crm

EXPOSE 8000
CMD ["gunicorn", "crm_site.wsgi", "--bind", "0.0.0.0:8000", "--access-logfile", "-"]
