# cti server image.
FROM python:3.11-slim
WORKDIR /opt/cti
COPY pyproject.toml README.md ./
COPY cti/ cti/
RUN pip install --no-cache-dir .
USER nobody
EXPOSE 8080
CMD ["cti", "serve"]
