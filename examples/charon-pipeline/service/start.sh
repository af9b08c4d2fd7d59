# Install busybox's applets (sh, wget, …) as links, then serve /app/www on :8080.
/bin/busybox mkdir -p /bin /tmp
/bin/busybox --install -s /bin
exec /bin/busybox httpd -f -p 8080 -h /app/www -c /app/httpd.conf
