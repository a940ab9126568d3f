FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY hub hub
COPY datasets datasets
COPY sanitise sanitise
COPY sharing sharing
RUN pip install --no-cache-dir .
COPY . .
RUN useradd --system --home /app hub && mkdir -p /var/lib/csp-hub && chown hub /var/lib/csp-hub
USER hub
CMD ["gunicorn", "hub.wsgi", "--bind", "0.0.0.0:8000", "--workers", "3"]
