#!/bin/bash
# Healthy when the engine's /health answers 200 (bash's /dev/tcp: no curl in the image).
exec 3<>"/dev/tcp/127.0.0.1/${PORT:-4000}" || exit 1
printf 'GET /health HTTP/1.0\r\nHost: localhost\r\n\r\n' >&3
read -r status <&3
[[ "$status" == *" 200 "* ]]
