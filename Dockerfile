FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY config ./config
COPY delivery ./delivery
COPY driver_api ./driver_api
COPY restaurant ./restaurant
COPY consumers ./consumers
COPY side_effects ./side_effects
COPY events ./events
COPY aggregators ./aggregators
COPY integrations ./integrations
COPY devtools ./devtools
COPY locale ./locale
COPY manage.py ./
RUN pip install --no-cache-dir . && DEBUG=false SECRET_KEY=build RAPPI_WEBHOOK_SECRET=build ALLOWED_HOSTS=build python manage.py collectstatic --noinput
EXPOSE 8000
# HTTP only (WSGI); docker-compose adds the ASGI server for websockets and the proxy in front of both.
CMD ["granian", "--interface", "wsgi", "config.wsgi:application", "--host", "0.0.0.0", "--port", "8000", "--blocking-threads", "4", "--no-ws"]
