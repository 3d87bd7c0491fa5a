# One image for the API and the workers (docker-compose.yml picks the command).
FROM python:3.11-slim
# The master key never lives in the data volume: HUB_SECRET_KEY, or a key file mounted
# at HUB_SECRET_KEY_FILE (a container secret); with neither the hub refuses to start.
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 HUB_DATA_DIR=/data \
    HUB_SECRET_KEY_FILE=/run/secrets/hub_secret_key
WORKDIR /app
COPY pyproject.toml README.md alembic.ini ./
COPY hub ./hub
COPY adapters ./adapters
COPY migrations ./migrations
RUN pip install --no-cache-dir -e . && useradd --system --home /app hub && mkdir -p /data && chown hub /data
USER hub
EXPOSE 8000
CMD ["hub", "serve", "--host", "0.0.0.0", "--port", "8000"]
