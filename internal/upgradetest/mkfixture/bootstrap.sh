#!/bin/bash
# A Lambda custom runtime in bash builtins alone (the process runtime gives no
# PATH): it long-polls the Runtime API over /dev/tcp and answers by _HANDLER.
# hello: a proxy result naming the function, its version and $GREETING;
# auth: a Lambda authorizer (REST TOKEN, HTTP API REQUEST, WebSocket $connect
# REQUEST on ?token=) that allows the token "allow" and denies others;
# ws: a WebSocket route's result echoing the route key; evt: prints the
# event to its log (an Event invocation's only trace).
api=$AWS_LAMBDA_RUNTIME_API
host=${api%:*} port=${api##*:}
base=/2018-06-01/runtime/invocation
while :; do
  exec 3<>"/dev/tcp/$host/$port" || exit 1
  printf 'GET %s/next HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n' "$base" "$api" >&3
  id= len=0
  while IFS= read -r line <&3; do
    line=${line%$'\r'}
    [ -z "$line" ] && break
    case ${line,,} in
      lambda-runtime-aws-request-id:*) id=${line#*: } ;;
      content-length:*) len=${line#*: } ;;
    esac
  done
  event=
  if [ "$len" -gt 0 ]; then read -r -N "$len" event <&3; fi
  exec 3<&-
  case $_HANDLER in
    auth)
      arn='*'
      if [[ $event =~ \"methodArn\":\"([^\"]*)\" ]]; then arn=${BASH_REMATCH[1]}; fi
      effect=Deny
      case $event in *'"authorizationToken":"allow"'* | *'"authorization":"allow"'* | *'"token":"allow"'*) effect=Allow ;; esac
      out='{"principalId":"tester","policyDocument":{"Version":"2012-10-17","Statement":[{"Action":"execute-api:Invoke","Effect":"'$effect'","Resource":"'$arn'"}]},"context":{"who":"tester"}}'
      ;;
    evt)
      printf 'event-ran %s\n' "$event"
      out='{"ok":true}'
      ;;
    ws)
      key=
      if [[ $event =~ \"routeKey\":\"([^\"]*)\" ]]; then key=${BASH_REMATCH[1]}; fi
      out='{"statusCode":200,"body":"ws '$key' v'$AWS_LAMBDA_FUNCTION_VERSION'"}'
      ;;
    *)
      body='{\"fn\":\"'$AWS_LAMBDA_FUNCTION_NAME'\",\"version\":\"'$AWS_LAMBDA_FUNCTION_VERSION'\",\"greeting\":\"'$GREETING'\"}'
      out='{"statusCode":200,"headers":{"content-type":"application/json"},"body":"'$body'"}'
      ;;
  esac
  exec 3<>"/dev/tcp/$host/$port" || exit 1
  printf 'POST %s/%s/response HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s' "$base" "$id" "$api" "${#out}" "$out" >&3
  while IFS= read -r line <&3; do :; done
  exec 3<&-
done
