# The production image: one image, several roles (web, worker, beat, simulator).
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
COPY . .
# collectstatic signs nothing: the dev key is fine here, the running app refuses it.
RUN DJANGO_DEBUG=true python manage.py collectstatic --noinput
# /metrics-data: prometheus_client's multiprocess files (a named volume takes this owner).
RUN useradd --system --uid 10001 app && mkdir -p /metrics-data && chown -R app /app /metrics-data
USER app
EXPOSE 8000
CMD ["gunicorn", "config.wsgi", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-"]
