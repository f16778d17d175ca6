#!/usr/bin/env bash
# The live server on several processes behind nginx, on this machine:
#
#   bash tools/serve-cluster.sh --backends 3 --port 8080      # then open http://127.0.0.1:8080/app
#
# - N backends: `panel serve app.py` on 127.0.0.1, ports PORT+1 .. PORT+N, every one with
#   the same BOKEH_SECRET_KEY and `--session-ids signed` (a session token minted by one
#   backend is good on every other), and the balancer's address as the only websocket origin.
# - nginx (Debian's package, installed by tools/ensure-nginx.sh when missing) on
#   127.0.0.1:PORT: sticky by a cookie (`bpx_route`, set on a browser's first request), so a
#   page's websocket goes to the backend that built its session; websocket upgrade headers;
#   `/static/` (BokehJS, Panel: ~5 MB a first visit) cached and gzipped by nginx, so a
#   backend serves each file once. A dead backend is skipped (`proxy_next_upstream`): its
#   students' pages reconnect to another one, which rebuilds the picture from the page's URL
#   (components/failover.py).
# - Ctrl-C / SIGTERM / exit: nginx and every backend are stopped; nothing is left running.
#
# Options: --backends N (2), --port P (8080), --host NAME (more names the students use to
# reach the balancer, e.g. teacher.local:8080; repeatable), --state FILE (writes
# "nginx PID" and "backend PID PORT" lines once all are up). BOKEH_SECRET_KEY from the
# environment is used when set (one secret for every machine of a multi-host setup,
# docs/deployment.md), else a fresh one is made.
set -euo pipefail
cd "$(dirname "$0")/.."

BACKENDS=2
PORT=8080
STATE=""
HOSTS=()
while [ $# -gt 0 ]; do
  case "$1" in
    --backends) BACKENDS="$2"; shift 2 ;;
    --port) PORT="$2"; shift 2 ;;
    --host) HOSTS+=("$2"); shift 2 ;;
    --state) STATE="$2"; shift 2 ;;
    -h|--help) sed -n '2,24p' "$0"; exit 0 ;;
    *) echo "serve-cluster: unknown option $1" >&2; exit 2 ;;
  esac
done
case "$BACKENDS" in ''|*[!0-9]*) echo "serve-cluster: --backends takes a number" >&2; exit 2 ;; esac
[ "$BACKENDS" -ge 1 ] || { echo "serve-cluster: --backends must be >= 1" >&2; exit 2; }

bash tools/ensure-nginx.sh
NGINX="$(command -v nginx || echo /usr/sbin/nginx)"
PYTHON="${PYTHON:-python3}"

RUN="$(mktemp -d -t bpx-cluster.XXXXXX)"
PIDS=()
NGINX_PID=""
stop() {
  trap - INT TERM EXIT
  [ -n "$NGINX_PID" ] && kill -TERM "$NGINX_PID" 2>/dev/null || true
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for _ in $(seq 50); do
    alive=0
    for pid in "$NGINX_PID" "${PIDS[@]}"; do
      [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && alive=1
    done
    [ "$alive" = 0 ] && break
    sleep 0.1
  done
  for pid in "$NGINX_PID" "${PIDS[@]}"; do
    [ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null || true
  done
  wait 2>/dev/null || true
  rm -rf "$RUN"
}
trap 'stop; exit 130' INT
trap 'stop; exit 143' TERM
trap stop EXIT

export BOKEH_SECRET_KEY="${BOKEH_SECRET_KEY:-$("$PYTHON" -c 'from bokeh.util.token import generate_secret_key as g; print(g())')}"
export BOKEH_SIGN_SESSIONS=true

ORIGINS=(--allow-websocket-origin "127.0.0.1:$PORT" --allow-websocket-origin "localhost:$PORT")
for h in "${HOSTS[@]}"; do ORIGINS+=(--allow-websocket-origin "$h"); done

UPSTREAMS=""
for i in $(seq 1 "$BACKENDS"); do
  bport=$((PORT + i))
  # each backend in its own process group, so it can be stopped (or killed in a test) alone
  setsid "$PYTHON" -m panel serve app.py --address 127.0.0.1 --port "$bport" \
      "${ORIGINS[@]}" --session-ids signed --use-xheaders \
      --keep-alive 10000 --session-token-expiration 3600 \
      --unused-session-lifetime 900000 --check-unused-sessions 60000 \
      --websocket-max-message-size 4000000 \
      >"$RUN/backend-$i.log" 2>&1 </dev/null &
  PIDS+=("$!")
  UPSTREAMS+="    server 127.0.0.1:$bport max_fails=1 fail_timeout=10s;"$'\n'
done

mkdir -p "$RUN/cache" "$RUN/tmp"
USER_LINE=""
if [ "$(id -u)" -eq 0 ]; then
  # nginx started as root hands its workers to an unprivileged user
  USER_LINE="user nobody nogroup;"
  chmod 755 "$RUN"
  chown -R nobody:nogroup "$RUN/cache" "$RUN/tmp"
fi
cat >"$RUN/nginx.conf" <<CONF
$USER_LINE
worker_processes 1;
pid $RUN/nginx.pid;
error_log $RUN/nginx-error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $RUN/tmp/body;
  proxy_temp_path $RUN/tmp/proxy;
  fastcgi_temp_path $RUN/tmp/fastcgi;
  uwsgi_temp_path $RUN/tmp/uwsgi;
  scgi_temp_path $RUN/tmp/scgi;
  proxy_cache_path $RUN/cache levels=1:2 keys_zone=bpx_static:10m max_size=200m inactive=1d;

  # sticky routing: a browser keeps the backend its cookie hashes to; the first request
  # (no cookie yet) gets a random route and the cookie that pins it
  map \$cookie_bpx_route \$bpx_route {
    ""      \$request_id;
    default \$cookie_bpx_route;
  }
  map \$cookie_bpx_route \$bpx_set_cookie {
    ""      "bpx_route=\$request_id; Path=/; HttpOnly; SameSite=Lax";
    default "";
  }
  map \$http_upgrade \$connection_upgrade {
    default upgrade;
    ""      close;
  }
  upstream bpx_backends {
    hash \$bpx_route consistent;
$UPSTREAMS  }

  gzip on;
  gzip_comp_level 4;
  gzip_min_length 1024;
  gzip_proxied any;
  gzip_types text/css application/javascript text/javascript application/json image/svg+xml;

  server {
    listen 127.0.0.1:$PORT;
    proxy_http_version 1.1;
    proxy_set_header Host \$http_host;
    proxy_set_header X-Real-IP \$remote_addr;
    proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
    proxy_set_header X-Forwarded-Proto \$scheme;
    proxy_next_upstream error timeout http_502 http_503;
    proxy_connect_timeout 2s;
    add_header Set-Cookie \$bpx_set_cookie always;
    add_header X-Backend \$upstream_addr always;

    location / {
      proxy_pass http://bpx_backends;
      proxy_set_header Upgrade \$http_upgrade;
      proxy_set_header Connection \$connection_upgrade;
      proxy_read_timeout 1h;
      proxy_send_timeout 1h;
    }
    # BokehJS and Panel's bundles: the same for everybody, cached here (versioned URLs)
    location /static/ {
      proxy_pass http://bpx_backends;
      proxy_cache bpx_static;
      proxy_cache_valid 200 1d;
      proxy_cache_key \$uri\$is_args\$args;
      proxy_ignore_headers Set-Cookie;
    }
  }
}
CONF

"$NGINX" -t -q -p "$RUN" -c "$RUN/nginx.conf"
"$NGINX" -p "$RUN" -c "$RUN/nginx.conf" -g "daemon off;" &
NGINX_PID=$!

# ready when every backend answers on its own port and nginx answers in front
for i in $(seq 1 "$BACKENDS"); do
  bport=$((PORT + i))
  # listening = ready (Tornado binds once the app is loaded); bash's /dev/tcp, no process per try
  ready=0
  for _ in $(seq 1200); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$bport") 2>/dev/null; then ready=1; break; fi
    kill -0 "${PIDS[$((i - 1))]}" 2>/dev/null || { echo "serve-cluster: backend $i exited; see below" >&2; cat "$RUN/backend-$i.log" >&2; exit 1; }
    sleep 0.25
  done
  [ "$ready" = 1 ] || { echo "serve-cluster: backend $i did not listen within 5 minutes" >&2; exit 1; }
done
if [ -n "$STATE" ]; then
  { echo "nginx $NGINX_PID $PORT"
    for i in $(seq 1 "$BACKENDS"); do echo "backend ${PIDS[$((i - 1))]} $((PORT + i))"; done
  } >"$STATE.tmp" && mv "$STATE.tmp" "$STATE"
fi
echo "serve-cluster: http://127.0.0.1:$PORT/app -> $BACKENDS backends (ports $((PORT + 1))-$((PORT + BACKENDS))); logs in $RUN; Ctrl-C stops all"
wait "$NGINX_PID"
