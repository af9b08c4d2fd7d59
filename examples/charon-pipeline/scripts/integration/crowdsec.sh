#!/usr/bin/env bash
# crowdsec: decisions ban listed addresses and allow the rest.
SUITE=crowdsec
source "$(dirname "$0")/lib.sh"
start_charon
expect 'a listed address is banned' 200 '"decision":"ban"' '/cgi-bin/decisions?ip=203.0.113.7'
expect 'another listed address is banned' 200 '"decision":"ban"' '/cgi-bin/decisions?ip=198.51.100.23'
expect 'an unlisted address is allowed' 200 '"decision":"allow"' '/cgi-bin/decisions?ip=192.0.2.1'
expect 'a request without an address is refused' 400 'ip required' '/cgi-bin/decisions'
finish
