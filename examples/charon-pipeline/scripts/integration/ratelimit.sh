#!/usr/bin/env bash
# ratelimit: five requests per client pass, the sixth gets 429; clients are counted apart.
SUITE=ratelimit
source "$(dirname "$0")/lib.sh"
start_charon
for i in 1 2 3 4 5; do
  expect "request $i of client a passes" 200 "\"count\":$i" /cgi-bin/limited 'X-Client: a'
done
expect 'request 6 of client a is limited' 429 '"error":"rate limited"' /cgi-bin/limited 'X-Client: a'
expect 'client b is counted on its own' 200 '"count":1' /cgi-bin/limited 'X-Client: b'
finish
