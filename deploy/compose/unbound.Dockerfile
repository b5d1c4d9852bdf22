# Unbound, Debian's build (with the subnetcache module for EDNS Client Subnet).
FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends unbound && rm -rf /var/lib/apt/lists/*
EXPOSE 53/udp 53/tcp
CMD ["unbound", "-d", "-c", "/etc/unbound/unbound.conf"]
