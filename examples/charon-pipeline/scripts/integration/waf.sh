#!/usr/bin/env bash
# waf: ordinary searches pass; injection, XSS and traversal are blocked.
SUITE=waf
source "$(dirname "$0")/lib.sh"
start_charon
expect 'an ordinary search passes' 200 '"results":[]' '/cgi-bin/search?q=ferry+times'
expect 'SQL injection is blocked' 403 '"rule":"sql-injection"' '/cgi-bin/search?q=1%27+UNION+SELECT+password+FROM+users'
expect 'XSS is blocked' 403 '"rule":"xss"' '/cgi-bin/search?q=%3Cscript%3Ealert(1)%3C/script%3E'
expect 'path traversal is blocked' 403 '"rule":"path-traversal"' '/cgi-bin/search?q=..%2F..%2Fetc%2Fpasswd'
finish
