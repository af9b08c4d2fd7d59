#!/usr/bin/env bash
# cerberus: the service is up and its admin area is guarded.
SUITE=cerberus
source "$(dirname "$0")/lib.sh"
start_charon
expect 'health answers' 200 '"status":"ok"' /cgi-bin/health
expect 'admin refuses anonymous users' 401 '' /admin/
expect 'admin refuses a wrong password' 401 '' /admin/ 'Authorization: Basic Y2hhcm9uOndyb25n'
expect 'admin admits the operator' 200 'charon admin area' /admin/ 'Authorization: Basic Y2hhcm9uOnMzY3JldA=='
finish
