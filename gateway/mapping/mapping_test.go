package mapping

import (
	"context"
	"errors"
	"sort"
	"strings"
	"testing"
)

// renderCase is one template, its input and context, and the exact output
// API Gateway (Velocity 1.7) gives for it.
type renderCase struct {
	name   string
	tmpl   string
	body   string
	path   map[string]string
	query  map[string]string
	header map[string]string
	stage  map[string]string
	ctx    map[string]any // dotted $context paths
	want   string
}

func (c renderCase) vars() *Vars {
	v := &Vars{Body: []byte(c.body), PathParams: c.path, QueryParams: c.query, Headers: c.header, StageVariables: c.stage}
	if c.ctx != nil {
		v.Context = NewContext()
		keys := make([]string, 0, len(c.ctx))
		for k := range c.ctx {
			keys = append(keys, k)
		}
		sort.Strings(keys) // $context keeps insertion order
		for _, k := range keys {
			v.Context.SetPath(k, c.ctx[k])
		}
	}
	return v
}

const petsBody = `[ { "id": 1, "type": "dog", "price": 249.99 }, { "id": 2, "type": "cat", "price": 124.99 }, { "id": 3, "type": "fish", "price": 0.99 } ]`

const petsObj = `{"pets": [{"id": 1, "type": "dog", "price": 249.99}, {"id": 2, "type": "cat", "price": 124.99}]}`

// awsDocCases come from the examples in API Gateway's developer guide
// (mapping templates, the $input/$util/$context reference and the variable
// examples), with the outputs the guide shows.
var awsDocCases = []renderCase{
	{name: "doc/petstore transform", body: petsBody,
		tmpl: "#set($inputRoot = $input.path('$'))\n[\n#foreach($elem in $inputRoot)\n  {\n    \"description\" : \"Item $elem.id is a $elem.type.\",\n    \"askingPrice\" : $elem.price\n  }#if($foreach.hasNext),#end\n\n#end\n]",
		want: "[\n  {\n    \"description\" : \"Item 1 is a dog.\",\n    \"askingPrice\" : 249.99\n  },\n  {\n    \"description\" : \"Item 2 is a cat.\",\n    \"askingPrice\" : 124.99\n  },\n  {\n    \"description\" : \"Item 3 is a fish.\",\n    \"askingPrice\" : 0.99\n  }\n]"},
	{name: "doc/input.json pets", body: petsObj, tmpl: "$input.json('$.pets')",
		want: `[{"id":1,"type":"dog","price":249.99},{"id":2,"type":"cat","price":124.99}]`},
	{name: "doc/input.json first pet", body: petsObj, tmpl: "$input.json('$.pets[0]')",
		want: `{"id":1,"type":"dog","price":249.99}`},
	{name: "doc/input.json whole body", body: `{"a" : [1, 2]}`, tmpl: `{"body": $input.json('$')}`, want: `{"body": {"a":[1,2]}}`},
	{name: "doc/input.path size", body: petsObj, tmpl: "$input.path('$.pets').size()", want: "2"},
	{name: "doc/input.path field", body: petsObj, tmpl: "$input.path('$.pets[1].type')", want: "cat"},
	{name: "doc/input.json string field is quoted", body: `{"message": "hello"}`, tmpl: "$input.json('$.message')", want: `"hello"`},
	{name: "doc/input.json nested", body: `{"user": {"name": "ann"}, "greeting": {"time": "morning"}}`,
		tmpl: `{"name": $input.json('$.user.name'), "time": $input.json('$.greeting.time')}`, want: `{"name": "ann", "time": "morning"}`},
	{name: "doc/things keySet", body: `{"things": {"1": {}, "2": {}, "3": {}}}`,
		tmpl: "#set($inputRoot = $input.path('$'))\n{\n    \"things\" : {\n        #foreach($key in $inputRoot.things.keySet())\n        \"$key\" : $input.json(\"$.things.$key\")#if($foreach.hasNext),#end\n\n        #end\n    }\n}",
		want: "{\n    \"things\" : {\n                \"1\" : {},\n                \"2\" : {},\n                \"3\" : {}\n            }\n}"},
	{name: "doc/context variables", ctx: map[string]any{"stage": "prod", "requestId": "abcdefg-000-000-0000-abcdefg", "apiId": "abcd1234", "resourcePath": "/", "httpMethod": "GET", "identity.sourceIp": "192.0.2.1", "identity.userAgent": "curl/7.84.0"},
		tmpl: "{\n    \"stage\" : \"$context.stage\",\n    \"request_id\" : \"$context.requestId\",\n    \"api_id\" : \"$context.apiId\",\n    \"resource_path\" : \"$context.resourcePath\",\n    \"http_method\" : \"$context.httpMethod\",\n    \"source_ip\" : \"$context.identity.sourceIp\",\n    \"user-agent\" : \"$context.identity.userAgent\"\n}",
		want: "{\n    \"stage\" : \"prod\",\n    \"request_id\" : \"abcdefg-000-000-0000-abcdefg\",\n    \"api_id\" : \"abcd1234\",\n    \"resource_path\" : \"/\",\n    \"http_method\" : \"GET\",\n    \"source_ip\" : \"192.0.2.1\",\n    \"user-agent\" : \"curl/7.84.0\"\n}"},
	{name: "doc/all params", path: map[string]string{"id": "7"}, query: map[string]string{"q": "x y"}, header: map[string]string{"Accept": "a/b"},
		tmpl: "#set($allParams = $input.params())\n{\n\"params\" : {\n#foreach($type in $allParams.keySet())\n#set($params = $allParams.get($type))\n\"$type\" : {\n#foreach($paramName in $params.keySet())\n\"$paramName\" : \"$util.escapeJavaScript($params.get($paramName))\"#if($foreach.hasNext),#end\n#end\n}#if($foreach.hasNext),#end\n#end\n}\n}",
		want: "{\n\"params\" : {\n\"path\" : {\n\"id\" : \"7\"},\"querystring\" : {\n\"q\" : \"x y\"},\"header\" : {\n\"Accept\" : \"a\\/b\"}}\n}"},
	{name: "doc/console method request passthrough", body: `{"a": 1}`, path: map[string]string{"id": "7"}, query: map[string]string{"q": "x", "r": "y"}, header: map[string]string{"Host": "h"}, stage: map[string]string{"env": "dev"},
		ctx:  map[string]any{"identity.accountId": "123", "apiId": "a1", "httpMethod": "POST", "identity.sourceIp": "1.2.3.4", "stage": "dev"},
		tmpl: "##  See http://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-mapping-template-reference.html\n##  This template will pass through all parameters including path, querystring, header, stage variables, and context through to the integration endpoint via the body/payload\n#set($allParams = $input.params())\n{\n\"body-json\" : $input.json('$'),\n\"params\" : {\n#foreach($type in $allParams.keySet())\n    #set($params = $allParams.get($type))\n\"$type\" : {\n    #foreach($paramName in $params.keySet())\n    \"$paramName\" : \"$util.escapeJavaScript($params.get($paramName))\"\n        #if($foreach.hasNext),#end\n    #end\n}\n    #if($foreach.hasNext),#end\n#end\n},\n\"stage-variables\" : {\n#foreach($key in $stageVariables.keySet())\n\"$key\" : \"$util.escapeJavaScript($stageVariables.get($key))\"\n    #if($foreach.hasNext),#end\n#end\n},\n\"context\" : {\n    \"account-id\" : \"$context.identity.accountId\",\n    \"api-id\" : \"$context.apiId\",\n    \"http-method\" : \"$context.httpMethod\",\n    \"source-ip\" : \"$context.identity.sourceIp\",\n    \"stage\" : \"$context.stage\"\n    }\n}\n",
		want: "{\n\"body-json\" : {\"a\":1},\n\"params\" : {\n\"path\" : {\n        \"id\" : \"7\"\n            }\n    ,\"querystring\" : {\n        \"q\" : \"x\"\n        ,        \"r\" : \"y\"\n            }\n    ,\"header\" : {\n        \"Host\" : \"h\"\n            }\n    },\n\"stage-variables\" : {\n\"env\" : \"dev\"\n    },\n\"context\" : {\n    \"account-id\" : \"123\",\n    \"api-id\" : \"a1\",\n    \"http-method\" : \"POST\",\n    \"source-ip\" : \"1.2.3.4\",\n    \"stage\" : \"dev\"\n    }\n}\n"},
	{name: "doc/stage variables", stage: map[string]string{"version": "v2", "url": "example.com"},
		tmpl: `{"version": "$stageVariables.version", "url": "${stageVariables.url}/x"}`, want: `{"version": "v2", "url": "example.com/x"}`},
	{name: "doc/stage variables keySet", stage: map[string]string{"b": "2", "a": "1"},
		tmpl: "#foreach($key in $stageVariables.keySet())$key=$stageVariables.get($key);#end", want: "a=1;b=2;"},
	{name: "doc/params by name", path: map[string]string{"petId": "42"}, query: map[string]string{"type": "dog"}, header: map[string]string{"X-Trace": "t1"},
		tmpl: `{"petId": "$input.params('petId')", "type": "$input.params('type')", "trace": "$input.params('X-Trace')"}`,
		want: `{"petId": "42", "type": "dog", "trace": "t1"}`},
	{name: "doc/params header get", header: map[string]string{"User-Agent": "curl/8"}, tmpl: "$input.params().header.get('User-Agent')", want: "curl/8"},
	{name: "doc/params querystring map", query: map[string]string{"b": "2", "a": "1"}, tmpl: "$input.params().querystring", want: "{a=1, b=2}"},
	{name: "doc/params rendered", path: map[string]string{"id": "1"}, header: map[string]string{"H": "v"}, tmpl: "$input.params()", want: "{path={id=1}, querystring={}, header={H=v}}"},
	{name: "doc/parseJson errorMessage", body: `{"errorMessage": "{\"key1\":\"var1\",\"key2\":{\"arr\":[1,2,3]}}"}`,
		tmpl: "#set ($errorMessageObj = $util.parseJson($input.path('$.errorMessage')))\n{\n   \"errorMessageObjKey2ArrVal\" : $errorMessageObj.key2.arr[0]\n}",
		want: "{\n   \"errorMessageObjKey2ArrVal\" : 1\n}"},
	{name: "doc/escapeJavaScript quotes", body: `{"data": "I'm \"here\""}`, tmpl: `"$util.escapeJavaScript($input.path('$.data'))"`, want: `"I\'m \"here\""`},
	{name: "doc/escapeJavaScript then unescape single quotes", body: `{"data": "I'm ok"}`,
		tmpl: `"$util.escapeJavaScript($input.path('$.data')).replaceAll("\\'","'")"`, want: `"I'm ok"`},
	{name: "doc/escapeJavaScript newline and tab", body: `{"data": "a\nb\tc"}`, tmpl: `$util.escapeJavaScript($input.path('$.data'))`, want: `a\nb\tc`},
	{name: "doc/escapeJavaScript unicode", body: `{"data": "café ☃ 😀"}`, tmpl: `$util.escapeJavaScript($input.path('$.data'))`, want: `caf\u00E9 \u2603 \uD83D\uDE00`},
	{name: "doc/escapeJavaScript slash and backslash", tmpl: `$util.escapeJavaScript('a/b\c')`, want: `a\/b\\c`},
	{name: "doc/escapeJavaScript control", tmpl: "$util.escapeJavaScript($input.path('$.d'))", body: `{"d": "\u0001\r\f\b"}`, want: `\u0001\r\f\b`},
	{name: "doc/urlEncode", tmpl: `$util.urlEncode("a b&c=d/é")`, want: "a+b%26c%3Dd%2F%C3%A9"},
	{name: "doc/urlEncode unreserved", tmpl: `$util.urlEncode("Az09.-*_~")`, want: "Az09.-*_%7E"},
	{name: "doc/urlDecode", tmpl: `$util.urlDecode("a+b%26c%3Dd%2F%C3%A9")`, want: "a b&c=d/é"},
	{name: "doc/base64Encode", tmpl: `$util.base64Encode("hello world")`, want: "aGVsbG8gd29ybGQ="},
	{name: "doc/base64Decode", tmpl: `$util.base64Decode("aGVsbG8gd29ybGQ=")`, want: "hello world"},
	{name: "doc/base64 of body", body: `{"a":1}`, tmpl: `{"payload": "$util.base64Encode($input.body)"}`, want: `{"payload": "eyJhIjoxfQ=="}`},
	{name: "doc/input.body raw", body: `{"a": "b"}`, tmpl: `"$util.escapeJavaScript($input.body)"`, want: `"{\"a\": \"b\"}"`},
	{name: "doc/lambda non-proxy event", body: `{"name": "Ann", "age": 30}`, path: map[string]string{"id": "9"}, query: map[string]string{"verbose": "true"}, header: map[string]string{"Host": "h"},
		tmpl: "{\n  \"body\" : $input.json('$'),\n  \"id\" : \"$input.params('id')\",\n  \"verbose\" : \"$input.params('verbose')\",\n  \"host\" : \"$input.params().header.get('Host')\"\n}",
		want: "{\n  \"body\" : {\"name\":\"Ann\",\"age\":30},\n  \"id\" : \"9\",\n  \"verbose\" : \"true\",\n  \"host\" : \"h\"\n}"},
	{name: "doc/json to xml", body: `{"items": [{"name": "a", "qty": 1}, {"name": "b<c", "qty": 2}]}`,
		tmpl: "#set($root = $input.path('$'))\n<items>\n#foreach($i in $root.items)\n  <item name=\"$i.name\" qty=\"$i.qty\"/>\n#end\n</items>",
		want: "<items>\n  <item name=\"a\" qty=\"1\"/>\n  <item name=\"b<c\" qty=\"2\"/>\n</items>"},
	{name: "doc/mock status template", tmpl: `{"statusCode": 200}`, want: `{"statusCode": 200}`},
	{name: "doc/mock status from query", query: map[string]string{"scope": "internal"},
		tmpl: "{\n  #if( $input.params('scope') == \"internal\" )\n    \"statusCode\": 200\n  #else\n    \"statusCode\": 500\n  #end\n}",
		want: "{\n      \"statusCode\": 200\n  }"},
	{name: "doc/error response template", ctx: map[string]any{"error.messageString": `"Missing Authentication Token"`}, tmpl: `{"message":$context.error.messageString}`,
		want: `{"message":"Missing Authentication Token"}`},
	{name: "doc/error validationErrorString", ctx: map[string]any{"error.validationErrorString": "[instance type (string) does not match]"},
		tmpl: `{"message": "$context.error.validationErrorString"}`, want: `{"message": "[instance type (string) does not match]"}`},
	{name: "doc/authorizer claims", ctx: map[string]any{"authorizer.claims.email": "a@b.c", "authorizer.principalId": "user1"},
		tmpl: `{"email": "$context.authorizer.claims.email", "principal": "$context.authorizer.principalId"}`, want: `{"email": "a@b.c", "principal": "user1"}`},
	{name: "doc/form urlencoded to json", body: "a=1&b=x+y",
		tmpl: "{\n#foreach($kv in $input.body.split('&'))\n#set($p = $kv.split('='))\n\"$util.urlDecode($p[0])\": \"$util.urlDecode($p[1])\"#if($foreach.hasNext),#end\n\n#end\n}",
		want: "{\n\"a\": \"1\",\n\"b\": \"x y\"\n}"},
	{name: "doc/lambda error regex response", body: `{"errorMessage": "Not Found: pet 7", "errorType": "Error"}`,
		tmpl: "#set($e = $input.path('$.errorMessage'))\n{\"error\": \"$e.substring($e.indexOf(':'))\"}", want: `{"error": ": pet 7"}`},
	{name: "doc/foreach over input.path list with index", body: `{"tags": ["a", "b", "c"]}`,
		tmpl: "#foreach($t in $input.path('$.tags'))$foreach.index:$t#if($foreach.hasNext),#end#end", want: "0:a,1:b,2:c"},
	{name: "doc/velocityCount", body: `{"tags": ["a", "b"]}`, tmpl: "#foreach($t in $input.path('$.tags'))$velocityCount$t #end", want: "1a 2b "},
	{name: "doc/dynamodb put item", body: `{"id": "u1", "name": "Ann \"A\""}`,
		tmpl: "{\n    \"TableName\": \"users\",\n    \"Item\": {\n        \"id\": {\"S\": \"$input.path('$.id')\"},\n        \"name\": {\"S\": \"$util.escapeJavaScript($input.path('$.name'))\"}\n    }\n}",
		want: "{\n    \"TableName\": \"users\",\n    \"Item\": {\n        \"id\": {\"S\": \"u1\"},\n        \"name\": {\"S\": \"Ann \\\"A\\\"\"}\n    }\n}"},
	{name: "doc/sqs send message", body: `{"msg": "hi there"}`,
		tmpl: "Action=SendMessage&MessageBody=$util.urlEncode($input.body)", want: "Action=SendMessage&MessageBody=%7B%22msg%22%3A+%22hi+there%22%7D"},
	{name: "doc/kinesis base64 data", body: `{"k": "v"}`,
		tmpl: "{\"Data\": \"$util.base64Encode($input.json('$'))\", \"PartitionKey\": \"p\"}", want: `{"Data": "eyJrIjoidiJ9", "PartitionKey": "p"}`},
}

// referenceCases are the rules in REFERENCE.md's "Details that
// re-implementations get wrong".
var referenceCases = []renderCase{
	{name: "ref/empty body is {}", tmpl: "$input.body", want: "{}"},
	{name: "ref/empty body json", tmpl: "$input.json('$')", want: "{}"},
	{name: "ref/path object renders java style", body: `{"x": {"a": "b", "c": "d"}}`, tmpl: "$input.path('$.x')", want: "{a=b, c=d}"},
	{name: "ref/array inside path object renders as json", body: `{"x": {"foo": [{"nested": "bar"}]}}`, tmpl: "$input.path('$.x')", want: `{foo=[{"nested":"bar"}]}`},
	{name: "ref/json of object is json", body: `{"x": {"a": "b", "c": [1, {"d": null}]}}`, tmpl: "$input.json('$.x')", want: `{"a":"b","c":[1,{"d":null}]}`},
	{name: "ref/path scalar kinds", body: `{"x": {"n": 1, "f": 1.5, "t": true, "z": null, "s": "q"}}`, tmpl: "$input.path('$.x')", want: "{n=1, f=1.5, t=true, z=null, s=q}"},
	{name: "ref/path nested object java style", body: `{"x": {"a": {"b": {"c": 1}}}}`, tmpl: "$input.path('$.x')", want: "{a={b={c=1}}}"},
	{name: "ref/path top array renders json", body: `{"x": [{"a": 1}, "s"]}`, tmpl: "$input.path('$.x')", want: `[{"a":1},"s"]`},
	{name: "ref/missing path renders nothing", body: `{"a": 1}`, tmpl: "[$input.path('$.missing')]", want: "[]"},
	// Live capture (qiita.com/Kept1994/items/663b700ddb55cf59b4c9): a body
	// without pets gives {"val": ""}, and "$input.json('$.pets')" in quotes
	// makes the output """" that the Lambda integration refuses.
	{name: "capture/missing json renders an empty JSON string", body: `{"str": "str", "num": 1, "bool": true}`,
		tmpl: "{\"val\": $input.json('$.pets'), \"q\": \"$input.json('$.pets')\"}", want: `{"val": "", "q": """"}`},
	// Live capture (qiita.com/makisyu/items/649f2c1945bde57c129f): what a
	// template sets in $input.path('$') shows in $input.json('$').
	{name: "capture/input.path changes show in input.json", body: `{"id": 7}`,
		tmpl: "#set($body = $input.path('$'))\n#set($body.url = \"https://example.tld/thingy/$body.id\")\n$input.json('$')", want: `{"id":7,"url":"https://example.tld/thingy/7"}`},
	{name: "input/json missing from a built path and the general path", body: `{"a": [1]}`,
		tmpl: "#set($p = '$.b')[$input.json($p)][$!input.json('$.a[3]')]#set($j = $input.json('$.c'))[$j]", want: `[""][""][""]`},
	{name: "ref/missing path equals null", body: `{}`, tmpl: "#if($input.path('$.missing') == $null)yes#{else}no#end", want: "yes"},
	{name: "ref/missing path equals empty string", body: `{}`, tmpl: `#if($input.path('$.missing') == "")yes#{else}no#end`, want: "yes"},
	{name: "ref/missing path is false", body: `{}`, tmpl: "#if($input.path('$.missing'))yes#{else}no#end", want: "no"},
	{name: "ref/present path not equal empty", body: `{"a": "x"}`, tmpl: `#if($input.path('$.a') == "")yes#{else}no#end`, want: "no"},
	{name: "ref/set missing path then render", body: `{}`, tmpl: "#set($v = $input.path('$.nope'))[$v]", want: "[]"},
	{name: "ref/urlEncode space is plus", tmpl: "$util.urlEncode('a b')", want: "a+b"},
	{name: "ref/context get identity prints empty", ctx: map[string]any{"identity.sourceIp": "1.2.3.4"}, tmpl: "[$context.get('identity')]", want: "[]"},
	{name: "ref/context identity prints empty", ctx: map[string]any{"identity.sourceIp": "1.2.3.4"}, tmpl: "[$context.identity]", want: "[]"},
	{name: "ref/context get identity then field", ctx: map[string]any{"identity.sourceIp": "1.2.3.4"}, tmpl: "$context.get('identity').sourceIp", want: "1.2.3.4"},
	{name: "ref/context keySet hides authorizer and isCanaryRequest", ctx: map[string]any{"requestId": "r", "authorizer.principalId": "p", "isCanaryRequest": false, "stage": "s"},
		tmpl: "$context.keySet()", want: "[requestOverride, responseOverride, requestId, stage]"},
	{name: "ref/context authorizer still readable", ctx: map[string]any{"authorizer.principalId": "p"}, tmpl: "$context.authorizer.principalId", want: "p"},
	{name: "ref/context isCanaryRequest readable", ctx: map[string]any{"isCanaryRequest": true}, tmpl: "$context.isCanaryRequest", want: "true"},
	{name: "ref/responseOverride status renders back", tmpl: "#set($context.responseOverride.status = 444)$context.responseOverride.status", want: "444"},
	{name: "ref/undefined context field renders its text", tmpl: "$context.nothing", want: "$context.nothing"},
	{name: "ref/quiet undefined context field", tmpl: "[$!context.nothing]", want: "[]"},
}

// velocityCases cover the language: references, directives, literals,
// operators and methods.
var velocityCases = []renderCase{
	// References.
	{name: "vtl/plain text", tmpl: "hello world", want: "hello world"},
	{name: "vtl/undefined reference renders itself", tmpl: "a $foo b", want: "a $foo b"},
	{name: "vtl/undefined property chain renders itself", tmpl: "$foo.bar.baz()", want: "$foo.bar.baz()"},
	{name: "vtl/quiet undefined", tmpl: "a$!{foo}b$!foo", want: "ab"},
	{name: "vtl/formal undefined", tmpl: "${foo}", want: "${foo}"},
	{name: "vtl/formal reference", tmpl: "#set($a = 'x')${a}y", want: "xy"},
	{name: "vtl/formal with property", tmpl: "#set($m = {'k': 'v'})${m.k}s", want: "vs"},
	{name: "vtl/defined object missing property", tmpl: "#set($m = {})$m.k", want: "$m.k"},
	{name: "vtl/dollar alone", tmpl: "costs $5 or $ 6 $", want: "costs $5 or $ 6 $"},
	{name: "vtl/dollar before dot", tmpl: "$.a", want: "$.a"},
	{name: "vtl/hash alone", tmpl: "# 1 #2 a#b", want: "# 1 #2 a#b"},
	{name: "vtl/unknown directive kept", tmpl: "#foo($x) #bar", want: "#foo($x) #bar"},
	{name: "vtl/escaped defined reference", tmpl: "#set($a = 1)\\$a", want: "$a"},
	{name: "vtl/escaped undefined reference", tmpl: "\\$a", want: "\\$a"},
	{name: "vtl/double escaped defined reference", tmpl: "#set($a = 1)\\\\$a", want: "\\1"},
	{name: "vtl/escaped directive", tmpl: "\\#if($x)", want: "#if($x)"},
	{name: "vtl/reference followed by text", tmpl: "#set($a = 'x')$a.", want: "x."},
	{name: "vtl/hyphen in identifier", tmpl: "#set($a-b = 1)$a-b", want: "1"},
	{name: "vtl/hyphen not trailing", tmpl: "#set($a = 1)$a-", want: "1-"},
	{name: "vtl/index notation list", tmpl: "#set($l = ['a', 'b'])$l[1]", want: "b"},
	{name: "vtl/index notation map", tmpl: "#set($m = {'k': 'v'})$m['k']", want: "v"},
	{name: "vtl/negative index counts from the end", tmpl: "#set($l = ['a', 'b', 'c'])$l[-1]$l[-3]#set($i = -2)$l[$i]", want: "cab"},
	{name: "vtl/negative index into a json list", body: `{"a": [1, 2, 3]}`, tmpl: "$input.path('$.a')[-1]", want: "3"},
	{name: "vtl/set negative index", tmpl: "#set($l = [1, 2, 3])#set($l[-1] = 9)$l", want: "[1, 2, 9]"},
	{name: "vtl/bracket not index", tmpl: "#set($a = 'x')$a[ $a[x] $a[]", want: "x[ x[x] x[]"},
	{name: "vtl/email address", tmpl: "#set($user = 'ann')$user@example.com", want: "ann@example.com"},
	{name: "vtl/method on literal map in text", tmpl: "#set($m = {'a': 1})$m.get('a')", want: "1"},
	// #set.
	{name: "vtl/set integer", tmpl: "#set($a = 42)$a", want: "42"},
	{name: "vtl/set string single quotes literal", tmpl: "#set($b = 'x')#set($a = '$b')$a", want: "$b"},
	{name: "vtl/set string double quotes interpolate", tmpl: "#set($b = 'x')#set($a = \"[$b]\")$a", want: "[x]"},
	{name: "vtl/set spaces inside", tmpl: "#set( $a = \"v\" )$a", want: "v"},
	{name: "vtl/set space before paren", tmpl: "#set ($a = 1)$a", want: "1"},
	{name: "vtl/set eats newline", tmpl: "#set($a = 1)\n$a", want: "1"},
	// Velocity 1.7 (checked with its jar): #set takes the spaces before it
	// only where they begin a token, not an indented line's.
	{name: "vtl/set keeps an indented line's spaces", tmpl: "x\n    #set($a = 1)\n$a", want: "x\n    1"},
	{name: "vtl/set keeps the spaces after text", tmpl: "a #set($x = 1)b|a\t#set($x = 1)b|\"q\" #set($x = 1)\nb", want: "a b|a\tb|\"q\" b"},
	{name: "vtl/set takes the spaces after a token", tmpl: "  #set($x = 1)a|$x #set($y = 1)b|#if(true)x#end\n  #set($y = 1)c|## c\n  #set($y = 1)d|$x\n  #set($y = 1)e", want: "a|1b|xc|d|1\n  e"},
	{name: "vtl/set takes the spaces after a directive's line end", tmpl: "{\n  #set($x = 1)\n  #set($y = 2)\n  \"a\": $x$y\n}", want: "{\n    \"a\": 12\n}"},
	{name: "vtl/set takes a lone dollar or hash before its spaces", tmpl: "a $ #set($y = 1)b|a# #set($y = 1)c|a $$ #set($y = 1)d", want: "a b|ac|a d"},
	// Velocity 1.7 (checked with its jar): a quote doubled inside a string
	// literal of its kind is one quote.
	{name: "vtl/doubled single quote", tmpl: "#set($a = 'it''s')$a|#set($a = '''')$a|#set($a = '')[$a]|#set($a = '$x''y')$a", want: "it's|'|[]|$x'y"},
	{name: "vtl/doubled double quote", tmpl: `#set($x = 'X')#set($a = "say ""hi""")$a|#set($a = "a""$x""b")$a|#set($a = """")$a|#set($a = "x""#if(true)y#end""z")$a`, want: `say "hi"|a"X"b|"|x"y"z`},
	{name: "vtl/doubled quotes in arguments, lists and maps", tmpl: `$util.escapeJavaScript('it''s')|#set($m = {'k''1': "v""2"})$m|#set($l = ["a""", 'b'''])$l`, want: `it\'s|{k'1=v"2}|[a", b']`},
	{name: "vtl/backslash before a doubled quote", tmpl: `#set($a = "a\""b")$a|#set($b = "\""")$b`, want: `a\"b|\"`},
	// Velocity 1.7 (checked with its jar): == between values of different
	// types compares their text, lists' and maps' included.
	{name: "vtl/list equals its text", tmpl: `#set($l = [1])#set($s = "[1]")#if($l == $s)EQ#{else}NE#end|#set($l = [1, "a"])#if($l == "[1, a]")EQ#end #if([] == "[]")EQ#end #if([] == "")EQ#{else}NE#end`, want: "EQ|EQ EQ NE"},
	{name: "vtl/map equals its text", tmpl: `#set($m = {"a": 1})#set($s = "{a=1}")#if($m == $s)EQ#end #if($s == $m)EQ#end #if($m != $s)NE#{else}EQ#end`, want: "EQ EQ EQ"},
	{name: "vtl/list against a number or boolean compares text", tmpl: `#set($l = [1])#if($l == 1)EQ#{else}NE#end|#set($l = ["true"])#if($l == true)EQ#{else}NE#end|#set($l = [1.5])#if($l == 1.5)EQ#{else}NE#end`, want: "NE|NE|NE"},
	// Velocity 1.7 (checked with its jar): $velocityHasNext is the innermost
	// loop's hasNext, restored after the loop.
	{name: "vtl/velocityHasNext", tmpl: `#foreach($i in [1,2,3])$i:$velocityHasNext #end|$velocityHasNext|#foreach($i in [1,2])#foreach($j in [1])$velocityHasNext#end-$velocityHasNext #end|#foreach($i in {"a": 1, "b": 2})#if($velocityHasNext),#end#end`, want: "1:true 2:true 3:false |$velocityHasNext|false-true false-false |,"},
	{name: "vtl/velocityHasNext restored", tmpl: `#set($velocityHasNext = 'x')#foreach($i in [1])$velocityHasNext#end $velocityHasNext`, want: "false x"},
	// Velocity 1.7 (checked with its jar): < <= > >= compare numbers only.
	{name: "vtl/relational operators compare numbers only", tmpl: `#if("a" < "b")A#{else}a#end#if("b" > "a")B#{else}b#end#if("1" < "2")C#{else}c#end#if(1 < 2)D#end#if(1.5 >= 1)E#end#if("a" <= "a")F#{else}f#end#if(true < false)G#{else}g#end#set($a = "a")#set($b = "b")#if($a < $b)H#{else}h#end`, want: "abcDEfgh"},
	// Velocity 1.7 (checked with its jar): a literal other than true is false
	// as a condition (of #if, &&, ||, !), where a variable holding it is true.
	{name: "vtl/bare literals are false as conditions", tmpl: `#if("abc")A#{else}a#end#if(1)B#{else}b#end#if([1])C#{else}c#end#if({"a":1})D#{else}d#end#if([1..2])E#{else}e#end#if(1.5)F#{else}f#end#if("")G#{else}g#end#if(0)H#{else}h#end#if("$x")I#{else}i#end#if(-1)J#{else}j#end`, want: "abcdefghij"},
	{name: "vtl/bare literals in logical operators", tmpl: `#if(!"")A#{else}a#end#if("a" && true)B#{else}b#end#if(true && 1)C#{else}c#end#if($nope || "a")D#{else}d#end#if(true || "a")E#{else}e#end#if(!1)F#{else}f#end#if(!(1 == 2))G#end`, want: "AbcdEFG"},
	{name: "vtl/bare literals set from logical operators", tmpl: `#set($b = "a" && true)$b|#set($c = !"")$c|#set($d = "a" || false)$d|#set($e = !1)$e|#set($s = "")#if($s)S#end#set($z = 0)#if($z)Z#end#set($l = [])#if($l)L#end`, want: "false|true|false|true|SZL"},
	{name: "vtl/parenthesized bare literals", tmpl: `#if(("a"))A#{else}a#end#if((1 == 1))B#end#if(("a") && true)C#{else}c#end`, want: "aBc"},
	// Velocity 1.7 (checked with its jar): a backslash escapes # only
	// before a directive's name (or a macro's); before other text it stays.
	{name: "vtl/escaped hash before a directive or not", tmpl: `\#ifx|\#if|\#set|\#end|\#foo|\#{if}|\#{foo}|\#else|\#foreach|\#break|\#literal|\#{set}`, want: `\#ifx|#if|#set|#end|\#foo|#{if}|\#{foo}|#else|#foreach|#break|#literal|#{set}`},
	{name: "vtl/escaped hash before a macro and runs of backslashes", tmpl: `#macro(mm)M#end\#mm|\\#ifx|\\#foo|\\\#foo|\\\#if|\\\\#foo`, want: `#mm|\\#ifx|\\#foo|\\\#foo|\#if|\\\\#foo`},
	{name: "vtl/number compareTo", tmpl: `#set($n = 5)$n.compareTo(3)|$n.compareTo(5)|$n.compareTo(7)|#set($f = 2.5)$f.compareTo(3.5)|$f.compareTo(2.5)`, want: "1|0|-1|-1|0"},
	{name: "vtl/list lastIndexOf", tmpl: `#set($l = [1,2,3,2])$l.lastIndexOf(2) $l.lastIndexOf(9) $l.lastIndexOf("2")`, want: "3 -1 -1"},
	// Velocity 1.7 (checked with its jar): integer arithmetic past a long's
	// range goes on in BigInteger.
	{name: "vtl/long overflow to big integers", tmpl: `#set($j = 9223372036854775807 + 1)$j|#set($k = 9223372036854775807 * 2)$k|#set($m = -9223372036854775807 - 2)$m|#set($x = 9223372036854775807 + 1 - 1)$x|#set($y = 9223372036854775807 + 1.0)$y`, want: "9223372036854775808|18446744073709551614|-9223372036854775809|9223372036854775807|9.223372036854776E18"},
	{name: "vtl/big integers in arithmetic and comparisons", tmpl: `#set($j = 9223372036854775807 + 1)#set($q = $j / 2)$q|#if($j > 9223372036854775807)GT#end|#set($a = 2147483647 * 2147483647 * 2147483647)$a|#set($b = 99999999999999999999)$b|#set($r = $b % 7)$r|#if($b == 99999999999999999999)EQ#end`, want: "4611686018427387904|GT|9903520300447984150353281023|99999999999999999999|1|EQ"},
	// Velocity 1.7 (checked with its jar): a backslash in a string literal
	// is text and escapes nothing, a quote included: "a\" is a\, and "a\"b"
	// does not parse (TestParseErrors).
	{name: "vtl/backslash before the closing quote is text", tmpl: `#set($x = "a\")[$x]|#set($y = "\")[$y]|#set($z = 'a\')[$z]|#set($w = "a\'b")[$w]|#set($v = 'a\"b')[$v]`, want: `[a\]|[\]|[a\]|[a\'b]|[a\"b]`},
	// Velocity 1.7 (checked with its jar): a minus sign before a digit is a
	// negative number; before anything else it is not an operator on its
	// own (TestParseErrors), and in text it is text.
	{name: "vtl/negative number literals", tmpl: `#set($k = 3 - -5)[$k]|#set($k = 3--5)[$k]|#set($i = 2)#set($k = $i*-1)[$k]|#set($k = -5.5)[$k]|#set($k = [-1, -2])$k|#if(-1 < 0)y#end|#foreach($x in [-2..-1])$x#end|#set($i = 5)[-$i]`, want: `[8]|[8]|[-2]|[-5.5]|[-1, -2]|y|-2-1|[-5]`},
	// Velocity 1.7 (checked with its jar): a String method taking a
	// CharSequence or String is not found for a number, a boolean, a list or
	// a map (the reference renders as written); indexOf and
	// lastIndexOf of an integer look for that character code.
	{name: "vtl/string methods take strings only", tmpl: `#set($s = "a1b")$s.contains(1)|$s.contains(true)|$s.contains([1])|$s.contains({})|$s.contains(1.5)|$s.contains("1")|$s.contains($stageVariables.n)`,
		stage: map[string]string{"n": "1"}, want: `$s.contains(1)|$s.contains(true)|$s.contains([1])|$s.contains({})|$s.contains(1.5)|true|true`},
	{name: "vtl/string methods of a non-string argument render as written", tmpl: `#set($s = "a1b")$s.startsWith(1)|$s.startsWith("a", 0)|$s.startsWith(1, 0)|$s.endsWith(1)|$s.endsWith("b")|$s.concat(1)|$s.concat("x")|$s.equalsIgnoreCase(1)|$s.equalsIgnoreCase("A1B")`,
		want: `$s.startsWith(1)|true|$s.startsWith(1, 0)|$s.endsWith(1)|true|$s.concat(1)|a1bx|$s.equalsIgnoreCase(1)|true`},
	{name: "vtl/string replace and regexp methods of a non-string argument", tmpl: `#set($s = "a1b")$s.replace(1, 2)|$s.replace("1", 2)|$s.replace("1", "2")|$s.split(1)|$s.matches(1)|$s.replaceAll(1, "x")|$s.replaceAll("1", 2)|$s.replaceFirst("1", 2)`,
		want: `$s.replace(1, 2)|$s.replace("1", 2)|a2b|$s.split(1)|$s.matches(1)|$s.replaceAll(1, "x")|$s.replaceAll("1", 2)|$s.replaceFirst("1", 2)`},
	{name: "vtl/string indexOf of a character code", tmpl: `#set($s = "a1b")$s.indexOf(1)|$s.indexOf(49)|$s.indexOf("1")|$s.lastIndexOf(98)|$s.indexOf(98, 1)|$s.indexOf(1.0)|$s.indexOf(true)`,
		want: `-1|1|1|2|2|$s.indexOf(1.0)|$s.indexOf(true)`},
	{name: "vtl/escaped backslash before the closing quote", tmpl: `#set($x = "x")$x.replaceAll("x", "\\")|#set($y = "a\\")$y`, want: `\|a\\`},
	{name: "vtl/set null keeps old value", tmpl: "#set($a = 1)#set($a = $nothing)$a", want: "1"},
	{name: "vtl/set boolean", tmpl: "#set($a = true)$a", want: "true"},
	{name: "vtl/set map property", tmpl: "#set($m = {})#set($m.k = 'v')$m", want: "{k=v}"},
	{name: "vtl/set list index", tmpl: "#set($l = [1, 2])#set($l[0] = 9)$l", want: "[9, 2]"},
	{name: "vtl/set from reference shares object", tmpl: "#set($a = [])#set($b = $a)$!b.add(1)$a", want: "true[1]"},
	{name: "vtl/set formal directive", tmpl: "#{set}($a = 1)$a", want: "1"},
	// Literals.
	{name: "vtl/list literal", tmpl: "#set($l = [1, \"a\", true, 'b'])$l", want: "[1, a, true, b]"},
	{name: "vtl/empty list", tmpl: "#set($l = [])$l $l.size()", want: "[] 0"},
	{name: "vtl/nested list", tmpl: "#set($l = [[1, 2], []])$l", want: "[[1, 2], []]"},
	{name: "vtl/map literal", tmpl: "#set($m = {\"a\": 1, \"b\": \"x\"})$m", want: "{a=1, b=x}"},
	{name: "vtl/map literal nested", tmpl: "#set($m = {'a': {'b': [1]}})$m", want: "{a={b=[1]}}"},
	{name: "vtl/range", tmpl: "#set($r = [1..4])$r", want: "[1, 2, 3, 4]"},
	{name: "vtl/range descending", tmpl: "#foreach($i in [3..1])$i#end", want: "321"},
	{name: "vtl/range with references", tmpl: "#set($n = 3)#foreach($i in [1..$n])$i#end", want: "123"},
	{name: "vtl/range single", tmpl: "#foreach($i in [0..0])$i#end", want: "0"},
	{name: "vtl/float literal", tmpl: "#set($f = 2.50)$f", want: "2.5"},
	{name: "vtl/negative literal", tmpl: "#set($n = -3)$n", want: "-3"},
	{name: "vtl/string keeps backslash n", tmpl: `#set($s = "a\nb")$s`, want: `a\nb`},
	{name: "vtl/interpolated method call", tmpl: "#set($n = 'ann')#set($s = \"hi ${n.toUpperCase()}!\")$s", want: "hi ANN!"},
	{name: "vtl/interpolated directive", tmpl: "#set($x = true)#set($s = \"#if($x)yes#{else}no#end\")$s", want: "yes"},
	{name: "vtl/unparsed block", tmpl: "#[[$not #if]]#", want: "$not #if"},
	// Comments.
	{name: "vtl/line comment", tmpl: "a## comment\nb", want: "ab"},
	{name: "vtl/line comment at end", tmpl: "a ## c", want: "a "},
	{name: "vtl/block comment", tmpl: "a#* x\ny *#b", want: "ab"},
	{name: "vtl/block comment keeps newline after", tmpl: "a#* x *#\nb", want: "a\nb"},
	// #if.
	{name: "vtl/if true", tmpl: "#if(true)y#end", want: "y"},
	{name: "vtl/if false", tmpl: "#if(false)y#end.", want: "."},
	{name: "vtl/if else", tmpl: "#if(false)a#{else}b#end", want: "b"},
	{name: "vtl/if elseif", tmpl: "#set($n = 2)#if($n == 1)one#elseif($n == 2)two#{else}many#end", want: "two"},
	{name: "vtl/if elseif else", tmpl: "#set($n = 5)#if($n == 1)one#elseif($n == 2)two#{else}many#end", want: "many"},
	{name: "vtl/if undefined is false", tmpl: "#if($nope)y#{else}n#end", want: "n"},
	{name: "vtl/if empty string is true", tmpl: "#set($v = '')#if($v)y#{else}n#end", want: "y"},
	{name: "vtl/if zero is true", tmpl: "#set($v = 0)#if($v)y#{else}n#end", want: "y"},
	{name: "vtl/if empty list is true", tmpl: "#set($v = [])#if($v)y#{else}n#end", want: "y"},
	{name: "vtl/if newline handling", tmpl: "#if(true)\na\n#end\nb", want: "a\nb"},
	{name: "vtl/if else newline handling", tmpl: "#if(false)\na\n#else\nc\n#end\nb", want: "c\nb"},
	{name: "vtl/if with spaces", tmpl: "#if ( true ) y #end", want: " y "},
	{name: "vtl/if indented keeps indentation", tmpl: "  #if(true)\n  a\n  #end\n", want: "    a\n  "},
	{name: "vtl/formal end", tmpl: "#if(true)a#{end}b", want: "ab"},
	{name: "vtl/nested if", tmpl: "#if(true)#if(false)x#{else}y#end#end", want: "y"},
	// Operators.
	{name: "vtl/equals numbers", tmpl: "#if(1 == 1.0)y#end", want: "y"},
	{name: "vtl/equals string and number by text", tmpl: "#if(1 == '1')y#{else}n#end", want: "y"},
	{name: "vtl/not equals", tmpl: "#if('a' != 'b')y#end", want: "y"},
	{name: "vtl/eq ne words", tmpl: "#if('a' eq 'a' and 'a' ne 'b')y#end", want: "y"},
	{name: "vtl/less greater", tmpl: "#if(1 < 2 && 2 > 1 && 2 <= 2 && 3 >= 2)y#end", want: "y"},
	{name: "vtl/lt gt words", tmpl: "#if(1 lt 2 and 2 gt 1 and 2 le 2 and 3 ge 2)y#end", want: "y"},
	{name: "vtl/or", tmpl: "#if(false || true)y#end#if(false or false)n#end", want: "y"},
	{name: "vtl/not", tmpl: "#if(!false)a#end#if(not false)b#end#if(!$undefined)c#end", want: "abc"},
	{name: "vtl/not not", tmpl: "#if(!!true)y#end", want: "y"},
	{name: "vtl/precedence and over or", tmpl: "#if(true || false && false)y#{else}n#end", want: "y"},
	{name: "vtl/parentheses", tmpl: "#if((true || false) && false)y#{else}n#end", want: "n"},
	{name: "vtl/null comparisons", tmpl: "#if($a == $b)y#end", want: "y"},
	{name: "vtl/arithmetic", tmpl: "#set($x = 2 * 3 + 1)$x", want: "7"},
	{name: "vtl/arithmetic parentheses", tmpl: "#set($x = 2 * (3 + 1))$x", want: "8"},
	{name: "vtl/integer division", tmpl: "#set($x = 7 / 2)$x", want: "3"},
	{name: "vtl/modulo", tmpl: "#set($x = 7 % 3)$x", want: "1"},
	{name: "vtl/float division", tmpl: "#set($x = 7.0 / 2)$x", want: "3.5"},
	{name: "vtl/float whole renders with .0", tmpl: "#set($x = 1.5 * 2)$x", want: "3.0"},
	{name: "vtl/subtraction negative", tmpl: "#set($x = 10 - 20)$x", want: "-10"},
	{name: "vtl/divide by zero leaves unchanged", tmpl: "#set($x = 1)#set($x = 1 / 0)$x", want: "1"},
	{name: "vtl/increment in loop", tmpl: "#set($n = 0)#foreach($i in [1..5])#set($n = $n + $i)#end$n", want: "15"},
	{name: "vtl/string concatenation with plus", tmpl: "#set($s = 'a' + 'b' + 1)$s", want: "ab1"},
	{name: "vtl/string plus undefined joins its source text", tmpl: "#set($a = 'x' + $nothing)#set($b = ${nothing.y} + 'z')#set($c = 1 + $nothing)$a $b [$!c]", want: "x$nothing ${nothing.y}z []"},
	{name: "vtl/negation by subtraction", tmpl: "#set($a = 2)#set($b = 0 - $a)$b", want: "-2"},
	{name: "vtl/large float", tmpl: "#set($f = 12345678.0)$f", want: "1.2345678E7"},
	{name: "vtl/small float", tmpl: "#set($f = 0.0001)$f", want: "1.0E-4"},
	// #foreach.
	{name: "vtl/foreach list", tmpl: "#foreach($i in ['a', 'b'])[$i]#end", want: "[a][b]"},
	{name: "vtl/foreach hasNext", tmpl: "#foreach($i in [1, 2, 3])$i#if($foreach.hasNext),#end#end", want: "1,2,3"},
	{name: "vtl/foreach count first last", tmpl: "#foreach($i in [1, 2])$foreach.count$foreach.first$foreach.last #end", want: "1truefalse 2falsetrue "},
	{name: "vtl/foreach map values", tmpl: "#foreach($v in {'a': 1, 'b': 2})$v#end", want: "12"},
	{name: "vtl/foreach entrySet", tmpl: "#set($m = {'a': 1, 'b': 2})#foreach($e in $m.entrySet())$e.key=$e.value;#end", want: "a=1;b=2;"},
	{name: "vtl/foreach entry getKey", tmpl: "#set($m = {'a': 1})#foreach($e in $m.entrySet())$e.getKey()/$e.getValue() $e#end", want: "a/1 a=1"},
	{name: "vtl/foreach over undefined", tmpl: "a#foreach($i in $nothing)x#end b", want: "a b"},
	{name: "vtl/foreach over string does nothing", tmpl: "#foreach($i in 'abc')x#end.", want: "."},
	{name: "vtl/foreach restores loop variable", tmpl: "#set($i = 'out')#foreach($i in [1])$i#end $i", want: "1 out"},
	{name: "vtl/foreach variable gone after loop", tmpl: "#foreach($i in [1])#end$i", want: "$i"},
	{name: "vtl/nested foreach parent", tmpl: "#foreach($a in [1, 2])#foreach($b in ['x'])$foreach.parent.index$b#end#end", want: "0x1x"},
	{name: "vtl/nested foreach restores outer foreach", tmpl: "#foreach($a in [1, 2])#foreach($b in [7])#end$foreach.index#end", want: "01"},
	{name: "vtl/break", tmpl: "#foreach($i in [1..5])#if($i == 3)#break#end$i#end.", want: "12."},
	{name: "vtl/break with argument", tmpl: "#foreach($i in [1..5])#if($i > 1)#break($foreach)#end$i#end.", want: "1."},
	{name: "vtl/break inner only", tmpl: "#foreach($a in [1, 2])#foreach($b in [1, 2])#break#end$a#end", want: "12"},
	{name: "vtl/stop", tmpl: "a#stop b", want: "a"},
	{name: "vtl/stop in loop", tmpl: "#foreach($i in [1..5])$i#if($i == 2)#stop#end#end tail", want: "12"},
	{name: "vtl/foreach newline handling", tmpl: "#foreach($i in [1, 2])\n$i\n#end\n", want: "1\n2\n"},
	{name: "vtl/foreach set inside loop is global", tmpl: "#foreach($i in [1, 2])#set($last = $i)#end$last", want: "2"},
	// #define and #macro.
	{name: "vtl/define", tmpl: "#define($greet)hello $name#end#set($name = 'ann')$greet", want: "hello ann"},
	{name: "vtl/define rerenders", tmpl: "#define($b)[$x]#end#set($x = 1)$b#set($x = 2)$b", want: "[1][2]"},
	{name: "vtl/macro", tmpl: "#macro(hi $who)Hi $who!#end#hi('bob')", want: "Hi bob!"},
	{name: "vtl/macro commas", tmpl: "#macro(add $a, $b)#set($s = $a + $b)$s#end#add(1, 2)", want: "3"},
	{name: "vtl/macro no args", tmpl: "#macro(x)X#end#x()#x()", want: "XX"},
	{name: "vtl/macro missing arg renders name", tmpl: "#macro(m $a $b)$a$b#end#m(1)", want: "1$b"},
	{name: "vtl/macro params restored", tmpl: "#set($a = 'out')#macro(m $a)$a#end#m('in') $a", want: "in out"},
	{name: "vtl/macro recursion", tmpl: "#macro(count $n)$n#if($n > 0)#set($m = $n - 1)#count($m)#end#end#count(3)", want: "3210"},
	{name: "vtl/macro defined later is text", tmpl: "#later()#macro(later)x#end", want: "#later()"},
	// Strings.
	{name: "vtl/string length", tmpl: "#set($s = 'hello')$s.length()", want: "5"},
	{name: "vtl/string length utf16", tmpl: "#set($s = 'é😀')$s.length()", want: "3"},
	{name: "vtl/substring", tmpl: "#set($s = 'hello')$s.substring(1, 3) $s.substring(2)", want: "el llo"},
	{name: "vtl/indexOf", tmpl: "#set($s = 'a-b-c')$s.indexOf('-') $s.indexOf('-', 2) $s.lastIndexOf('-') $s.indexOf('x')", want: "1 3 3 -1"},
	{name: "vtl/replace", tmpl: "#set($s = 'a.b.c')$s.replace('.', '/')", want: "a/b/c"},
	{name: "vtl/replaceAll regex", tmpl: "#set($s = 'a1b22c')$s.replaceAll('[0-9]+', '#')", want: "a#b#c"},
	{name: "vtl/replaceAll groups", tmpl: "#set($s = 'john smith')$s.replaceAll('(\\w+) (\\w+)', '$2, $1')", want: "smith, john"},
	{name: "vtl/replaceFirst", tmpl: "#set($s = 'aaa')$s.replaceFirst('a', 'b')", want: "baa"},
	{name: "vtl/split", tmpl: "#set($s = 'a,b,,c,,')#set($p = $s.split(','))$p.size() $p", want: "4 [a, b, , c]"},
	{name: "vtl/split regex", tmpl: "#set($s = 'a  b c')#foreach($w in $s.split('\\s+'))[$w]#end", want: "[a][b][c]"},
	{name: "vtl/method on a literal is text", tmpl: "$'a=b=c'.split('=', 2)", want: "$'a=b=c'.split('=', 2)"},
	{name: "vtl/split limit via set", tmpl: "#set($s = 'a=b=c')$s.split('=', 2)", want: "[a, b=c]"},
	{name: "vtl/case", tmpl: "#set($s = 'MiXed')$s.toLowerCase() $s.toUpperCase()", want: "mixed MIXED"},
	{name: "vtl/trim", tmpl: "#set($s = '  x y \t')[$s.trim()]", want: "[x y]"},
	{name: "vtl/contains starts ends", tmpl: "#set($s = 'hello')$s.contains('ell') $s.startsWith('he') $s.endsWith('lo') $s.startsWith('x')", want: "true true true false"},
	{name: "vtl/equals", tmpl: "#set($s = 'a')$s.equals('a') $s.equals('b') $s.equalsIgnoreCase('A')", want: "true false true"},
	{name: "vtl/isEmpty and set eating the space before it", tmpl: "#set($s = '')$s.isEmpty() #set($t = 'x')$t.isEmpty() $s.empty", want: "truefalse true"},
	{name: "vtl/matches", tmpl: "#set($s = 'abc123')$s.matches('[a-z]+[0-9]+') $s.matches('[a-z]+')", want: "true false"},
	{name: "vtl/charAt", tmpl: "#set($s = 'abc')$s.charAt(1)", want: "b"},
	{name: "vtl/chained methods", tmpl: "#set($s = ' A,B ')$s.trim().toLowerCase().split(',').get(1)", want: "b"},
	{name: "vtl/unknown string method renders text", tmpl: "#set($s = 'a')$s.frobnicate()", want: "$s.frobnicate()"},
	{name: "vtl/method with variable args", tmpl: "#set($s = 'hello')#set($i = 1)$s.substring($i, $s.length())", want: "ello"},
	// Lists.
	{name: "vtl/list size get", tmpl: "#set($l = ['a', 'b'])$l.size() $l.get(0) $l.get(1)", want: "2 a b"},
	{name: "vtl/list isEmpty contains", tmpl: "#set($l = [1, 'x'])$l.isEmpty() $l.contains('x') $l.contains(2)", want: "false true false"},
	{name: "vtl/list add renders true", tmpl: "#set($l = [])$l.add('a')$l", want: "true[a]"},
	{name: "vtl/list add quiet", tmpl: "#set($l = [])$!l.add(1)#set($d = $l.add(2))$l", want: "true[1, 2]"},
	// docs/mapping-templates.md's advice: $! hides only null, so a list's add
	// (true) and a map's put over a key (the previous value) are called in a
	// #set to render nothing.
	{name: "doc/list add in a set renders nothing", tmpl: "#set($l = [])[#set($dummy = $l.add(1))#set($dummy = $l.add(2))]$l", want: "[][1, 2]"},
	{name: "doc/list add with bang renders true", tmpl: "#set($l = [])[$!l.add(1)]", want: "[true]"},
	{name: "doc/map put over a key with bang renders the old value", tmpl: "#set($m = {'a': 'x'})[$!m.put('a', 'y')][#set($dummy = $m.put('a', 'z'))]$m", want: "[x][]{a=z}"},
	{name: "doc/util qr is not API Gateway's", tmpl: "#set($l = [])$util.qr($l.add(1))", want: "$util.qr($l.add(1))"},
	{name: "vtl/list remove and indexOf", tmpl: "#set($l = ['a', 'b', 'c'])#set($d = $l.remove(0))$d $l $l.indexOf('c')", want: "a [b, c] 1"},
	{name: "vtl/list empty property", tmpl: "#set($l = [])$l.empty", want: "true"},
	{name: "vtl/list of json from path get", body: `{"a": [{"b": "x"}]}`, tmpl: "$input.path('$.a').get(0).b", want: "x"},
	{name: "vtl/json list element renders java style", body: `{"a": [{"b": "x"}]}`, tmpl: "$input.path('$.a[0]')", want: "{b=x}"},
	// Maps.
	{name: "vtl/map get containsKey", tmpl: "#set($m = {'a': 1})$m.get('a') $m.containsKey('a') $m.containsKey('b')", want: "1 true false"},
	{name: "vtl/map size isEmpty", tmpl: "#set($m = {'a': 1, 'b': 2})$m.size() $m.isEmpty() #set($e = {})$e.isEmpty()", want: "2 falsetrue"},
	{name: "vtl/map keySet", tmpl: "#set($m = {'b': 1, 'a': 2})$m.keySet()", want: "[b, a]"},
	{name: "vtl/map values", tmpl: "#set($m = {'b': 1, 'a': 2})$m.values()", want: "[1, 2]"},
	{name: "vtl/map entrySet renders", tmpl: "#set($m = {'b': 1})$m.entrySet()", want: "[b=1]"},
	{name: "vtl/map put returns previous", tmpl: "#set($m = {'a': 1})$m.put('a', 2) $m", want: "1 {a=2}"},
	{name: "vtl/map put new renders text", tmpl: "#set($m = {})$m.put('a', 2) $m", want: "$m.put('a', 2) {a=2}"},
	{name: "vtl/map put quiet", tmpl: "#set($m = {})$!m.put('a', 'x')$m.a", want: "x"},
	{name: "vtl/map remove", tmpl: "#set($m = {'a': 1, 'b': 2})#set($d = $m.remove('a'))$m", want: "{b=2}"},
	{name: "vtl/map missing get renders text", tmpl: "#set($m = {})$m.get('x')", want: "$m.get('x')"},
	{name: "vtl/lists containing themselves compare", tmpl: "#set($a = [])$!a.add($a)#set($b = [])$!b.add($b)#if($a == $a)same#end #if($a == $b)eq#{else}ne#end $a.contains($b)", want: "truetruesame ne false"},
	{name: "vtl/map containing itself", tmpl: "#set($m = {})$!m.put('self', $m)$m", want: "{self=(this Map)}"},
	{name: "vtl/parseJson object java style", tmpl: "#set($o = $util.parseJson('{\"a\": [1, 2], \"b\": {\"c\": true}}'))$o", want: `{a=[1,2], b={c=true}}`},
	{name: "vtl/parseJson field", tmpl: "#set($o = $util.parseJson('{\"a\": {\"b\": \"c\"}}'))$o.a.b", want: "c"},
	{name: "vtl/parseJson number", tmpl: "#set($o = $util.parseJson('12'))$o", want: "12"},
	// $input details.
	{name: "input/params precedence path over query", path: map[string]string{"id": "p"}, query: map[string]string{"id": "q"}, header: map[string]string{"id": "h"}, tmpl: "$input.params('id')", want: "p"},
	{name: "input/params precedence query over header", query: map[string]string{"id": "q"}, header: map[string]string{"id": "h"}, tmpl: "$input.params('id')", want: "q"},
	{name: "input/params header", header: map[string]string{"X-Id": "h"}, tmpl: "$input.params('X-Id')", want: "h"},
	{name: "input/params missing is empty", tmpl: "[$input.params('nope')]", want: "[]"},
	{name: "input/params missing compares empty", tmpl: "#if($input.params('nope') == \"\")empty#end", want: "empty"},
	{name: "input/params path map get", path: map[string]string{"id": "5"}, tmpl: "$input.params().path.get('id')", want: "5"},
	// Live capture (qiita.com/Kept1994/items/663b700ddb55cf59b4c9): a
	// path without $ starts from the root, as Jayway JsonPath compiles it.
	{name: "input/json path without $", body: `{"str": "str", "num": 1, "bool": true}`, tmpl: "{\"val\": $input.json(\"str\"), \"n\": $input.json('num'), \"q\": \"$input.json('num')\"}",
		want: `{"val": "str", "n": 1, "q": "1"}`},
	{name: "input/path without $", body: `{"a": {"b": [1, 2]}}`, tmpl: "$input.path('a.b').size()|#set($p = 'a.b[1]')$input.path($p)", want: "2|2"},
	{name: "input/json index negative", body: `{"a": [1, 2, 3]}`, tmpl: "$input.json('$.a[-1]')", want: "3"},
	{name: "input/json wildcard", body: `{"a": [{"n": 1}, {"n": 2}]}`, tmpl: "$input.json('$.a[*].n')", want: "[1,2]"},
	{name: "input/json deep scan", body: `{"a": {"n": 1, "b": {"n": 2}}}`, tmpl: "$input.json('$..n')", want: "[1,2]"},
	{name: "input/json bracket name", body: `{"a b": {"c-d": 5}}`, tmpl: "$input.json(\"$['a b']['c-d']\")", want: "5"},
	{name: "input/json slice", body: `{"a": [1, 2, 3, 4]}`, tmpl: "$input.json('$.a[1:3]')", want: "[2,3]"},
	{name: "input/json filter", body: `{"a": [{"t": "x", "v": 1}, {"t": "y", "v": 2}]}`, tmpl: "$input.json(\"$.a[?(@.t == 'y')].v\")", want: "[2]"},
	// Jayway JsonPath (API Gateway's) tests an object a filter is applied
	// to itself, not its values.
	{name: "input/json filter on an object", body: `{"o": {"k": "v"}}`, tmpl: "$input.json('$.o[?(@.k)]')", want: `[{"k":"v"}]`},
	{name: "input/json filter on an object that fails", body: `{"o": {"k": "v", "n": {"k": 1}}}`, tmpl: "$input.json(\"$.o[?(@.k == 'w')]\")", want: `[]`},
	{name: "input/json filter on an object then a name", body: `{"o": {"k": "v", "n": 2}}`, tmpl: "$input.json(\"$.o[?(@.k == 'v')].n\")", want: `[2]`},
	{name: "input/json deep filter selects each object once", body: `{"a": [{"k": 1}], "b": {"k": 2, "c": {"x": 3}}}`, tmpl: "$input.json('$..[?(@.k)]')", want: `[{"k":1},{"k":2,"c":{"x":3}}]`},
	{name: "input/json deep filter on scalars", body: `{"a": [1, 2, 3]}`, tmpl: "$input.json('$..[?(@ > 1)]')", want: `[]`},
	{name: "input/json string escapes", body: `{"s": "a\"b\\c\n\u00e9"}`, tmpl: "$input.json('$.s')", want: `"a\"b\\c\né"`},
	{name: "input/json numbers kept", body: `{"a": 1.0, "b": -2, "c": 1e3}`, tmpl: "$input.json('$')", want: `{"a":1.0,"b":-2,"c":1000.0}`},
	{name: "input/json path with variable", body: `{"a": {"k": "v"}}`, tmpl: "#set($f = 'k')$input.json(\"$.a.$f\")", want: `"v"`},
	{name: "input/path boolean in if", body: `{"ok": false}`, tmpl: "#if($input.path('$.ok'))y#{else}n#end", want: "n"},
	{name: "input/path number arithmetic", body: `{"n": 41}`, tmpl: "#set($n = $input.path('$.n') + 1)$n", want: "42"},
	{name: "input/path null value renders nothing", body: `{"z": null}`, tmpl: "[$input.path('$.z')]#if($input.path('$.z') == $null)null#end", want: "[]null"},
	{name: "input/json null value is null", body: `{"z": null}`, tmpl: "$input.json('$.z')", want: "null"},
	{name: "input/path json string size", body: `{"s": "abc"}`, tmpl: "$input.path('$.s').length()", want: "3"},
	{name: "input/body in string", body: `plain text`, tmpl: "[$input.body]", want: "[plain text]"},
	// The form-post templates people run on API Gateway read the body with
	// $input.path('$') (gist.github.com/ryanray/668022ad2432e38493df,
	// qiita.com/tmiki/items/32654e85a925bb841f7d, stackoverflow.com/a/77909018).
	{name: "input/path root of a form body is the body", body: "a=1&b=x+y&c",
		tmpl: "#set($raw = $input.path('$'))$raw|#foreach($kv in $input.path('$').split('&'))#set($p = $kv.split('='))$util.urlDecode($p[0])#if($p.size() > 1)=$util.urlDecode($p[1])#end;#end",
		want: "a=1&b=x+y&c|a=1;b=x y;c;"},
	{name: "input/path root of a text body in a condition", body: "plain", tmpl: "#if($input.path('$') == 'plain')yes#end $input.path('$').length()", want: "yes 5"},
	{name: "input/json of non-json body parses lazily", body: `not json`, tmpl: "$input.body", want: "not json"},
	// $util details.
	{name: "util/escapeJavaScript plain is unchanged", tmpl: "$util.escapeJavaScript('abc 123')", want: "abc 123"},
	{name: "util/escapeJavaScript number argument", tmpl: "$util.escapeJavaScript(12)", want: "12"},
	{name: "util/escapeJavaScript undefined argument", tmpl: "$util.escapeJavaScript($nope)", want: "$util.escapeJavaScript($nope)"},
	{name: "util/urlDecode plain", tmpl: "$util.urlDecode('abc')", want: "abc"},
	{name: "util/base64 utf8", tmpl: "$util.base64Decode($util.base64Encode('héllo'))", want: "héllo"},
	// Java's Base64 decoder takes unpadded input, and new String(bytes,
	// UTF_8) makes bytes that are not UTF-8 U+FFFD (they were a 500, and a raw
	// 0xFF byte in the output).
	{name: "util/base64Decode unpadded", tmpl: "$util.base64Decode('aGk')|$util.base64Decode('aGVsbG8gd29ybGQ')", want: "hi|hello world"},
	{name: "util/base64Decode not utf8", tmpl: "$util.base64Decode('/w==')|$util.base64Decode('/w')", want: "\uFFFD|\uFFFD"},
	// A UTF-16 index inside a surrogate pair gives U+FFFD, never a lone
	// surrogate's invalid UTF-8.
	{name: "vtl/charAt in a surrogate pair", tmpl: "#set($s = 'a😀b')$s.charAt(1)$s.charAt(2)|$s.substring(0, 2)|$s.length()", want: "\uFFFD\uFFFD|a\uFFFD|4"},
	{name: "util/unknown function renders text", tmpl: "$util.nope('x')", want: "$util.nope('x')"},
}

func TestRender(t *testing.T) {
	all := append(append(append([]renderCase{}, awsDocCases...), referenceCases...), velocityCases...)
	if len(all) < 150 {
		t.Fatalf("only %d cases", len(all))
	}
	seen := map[string]bool{}
	for _, c := range all {
		if seen[c.name] {
			t.Fatalf("duplicate case name %q", c.name)
		}
		seen[c.name] = true
		t.Run(c.name, func(t *testing.T) {
			tm, err := Parse("application/json", c.tmpl)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			got, err := tm.RenderString(context.Background(), c.vars())
			if err != nil {
				t.Fatalf("Render: %v", err)
			}
			if got != c.want {
				t.Errorf("template:\n%s\ngot:  %q\nwant: %q", c.tmpl, got, c.want)
			}
		})
	}
}

func TestOverrides(t *testing.T) {
	tm, err := Parse("application/json", `#set($context.responseOverride.status = 444)
#set($context.responseOverride.header.X-Custom = "yes")
#set($context.requestOverride.header.X-Up = $input.params('h'))
#set($context.requestOverride.querystring.q = "1")
#set($context.requestOverride.path.id = 'p7')
{}`)
	if err != nil {
		t.Fatal(err)
	}
	v := &Vars{Headers: map[string]string{"h": "from-client"}}
	got, err := tm.RenderString(context.Background(), v)
	if err != nil {
		t.Fatal(err)
	}
	if got != "{}" {
		t.Errorf("output %q", got)
	}
	status, hdr := v.ResponseOverride()
	if status != 444 || hdr["X-Custom"] != "yes" || len(hdr) != 1 {
		t.Errorf("response override %d %v", status, hdr)
	}
	h, q, p := v.RequestOverride()
	if h["X-Up"] != "from-client" || q["q"] != "1" || p["id"] != "p7" {
		t.Errorf("request override %v %v %v", h, q, p)
	}
	// Each override is applied once per template; the next template of the
	// request (the response template) may set it again, and other keys of
	// the same map are other overrides.
	tmResp, err := Parse("t", `#set($context.responseOverride.status = 201)#set($context.responseOverride.header.X-Other = "2")#set($context.responseOverride.header.X-Custom = "again")`)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tmResp.RenderString(context.Background(), v); err != nil {
		t.Fatal(err)
	}
	if status, hdr := v.ResponseOverride(); status != 201 || hdr["X-Custom"] != "again" || hdr["X-Other"] != "2" {
		t.Errorf("response override after the second template %d %v", status, hdr)
	}
	// A string status is read as a number; no override reads as 0.
	tm2, _ := Parse("t", `#set($context.responseOverride.status = "503")`)
	v2 := &Vars{}
	if _, err := tm2.RenderString(context.Background(), v2); err != nil {
		t.Fatal(err)
	}
	if s, _ := v2.ResponseOverride(); s != 503 {
		t.Errorf("status %d", s)
	}
	if s, h := (&Vars{}).ResponseOverride(); s != 0 || h != nil {
		t.Errorf("empty override %d %v", s, h)
	}
}

func TestParseErrors(t *testing.T) {
	cases := []struct {
		name, tmpl, want string
	}{
		{"unclosed if", "{\n  \"a\": 1,\n  #if($x)\n  b\n", `template "application/json": line 3, column 3: unclosed #if: no #end`},
		{"unclosed foreach", "#foreach($i in $l)\nx", `line 1, column 1: unclosed #foreach: no #end`},
		{"stray end", "a\n #end", `line 2, column 2: #end without a matching #if, #foreach, #define or #macro`},
		{"stray else", "#else", `line 1, column 1: #else without a matching`},
		{"set without paren", "#set $a = 1", `line 1, column 1: #set needs '(' after it`},
		{"set without equals", "#set($a 1)", `line 1, column 9: expected '=' in #set, found '1'`},
		{"set to method", "#set($a.b() = 1)", `line 1, column 6: #set cannot assign to a method call`},
		{"unclosed set", "#set($a = 1", `line 1, column 1: unclosed #set: expected ')'`},
		{"unclosed method args", "$a.b(1, 2", `line 1, column 10: unclosed argument list`},
		{"bad expression", "#if($a == )x#end", `line 1, column 11: unexpected ')' in expression`},
		{"unclosed string", "#set($a = \"abc)", `line 1, column 11: unclosed string literal`},
		{"unclosed single string", "#set($a = 'abc)", `line 1, column 11: unclosed string literal`},
		{"foreach without in", "#foreach($i $l)x#end", `line 1, column 13: #foreach: expected 'in'`},
		{"unclosed comment", "a\n#* never", `line 2, column 1: unclosed comment #*`},
		{"unclosed list", "#set($a = [1, 2)", `line 1, column 16: expected ',' or ']' in list, found ')'`},
		{"unclosed map", "#set($a = {'a': 1)", `line 1, column 18: expected ',' or '}' in map, found ')'`},
		{"parse directive", "#parse('x.vm')", `line 1, column 1: #parse is not supported in mapping templates`},
		{"include directive", "#include('x')", `#include is not supported`},
		{"word in expression", "#if(foo)x#end", `line 1, column 5: unexpected word "foo" in expression`},
		{"else after else", "#if(true)#else#else#end", `line 1, column 15: #else after #else`},
		{"unclosed elseif", "#if(false)#elseif(true)", `unclosed #elseif: no #end`},
		{"error inside string literal", "#set($a = 1)\n#set($s = \"x #if(\")", `line 2, column 18: expected a value, found the end of the template`},
		{"macro reserved name", "#macro(if)x#end", `#macro cannot be named "if"`},
		{"deep nesting", strings.Repeat("#if(true)", 300), `nested more than 200 deep`},
		{"deep parentheses", "#set($a = " + strings.Repeat("(", 300) + "1" + strings.Repeat(")", 300) + ")", `nested more than 200 deep`},
		{"deep method arguments", strings.Repeat("$a.b(", 100000) + strings.Repeat(")", 100000), `nested more than 200 deep`},
		{"deep index", strings.Repeat("$a[", 100000) + "0" + strings.Repeat("]", 100000), `nested more than 200 deep`},
		{"deep not", "#if(" + strings.Repeat("!", 100000) + "true)#end", `nested more than 200 deep`},
		{"unclosed index", "#set($a = [1])$a[0", `line 1, column 19: expected ']' closing the index, found the end of the template`},
		// A character outside ASCII is named whole, not its first byte.
		{"non-ASCII in expression", "#set($a = é)", `line 1, column 11: unexpected 'é' in expression`},
		{"CJK in expression", "#set($a = 日本)", `unexpected '日' in expression`},
		{"non-ASCII after a value", "#set($a = [1 é])", `expected ',' or ']' in list, found 'é'`},
		{"non-ASCII in #set", "#set($a é 1)", `expected '=' in #set, found 'é'`},
		{"byte that starts no character", "#set($a = \xff)", "unexpected '\uFFFD' in expression"},
		// Velocity 1.7 (checked with its jar) refuses these.
		{"backslash quote ends the string", `#set($x = "a\"b")`, `line 1, column 15: #set: expected ')', found 'b'`},
		{"backslash quote ends a single-quoted string", `#set($x = 'a\'b')`, `line 1, column 15: #set: expected ')', found 'b'`},
		{"backslash quote in an argument", `$util.escapeJavaScript("a\"b")`, `line 1, column 28`},
		{"minus before a reference", "#set($i = 5)#set($k = -$i)", `line 1, column 23: a minus sign makes a negative number only before a digit`},
		{"minus before a reference in #if", "#set($i = 5)#if(-$i < 0)x#end", `line 1, column 17: a minus sign makes a negative number only before a digit`},
		{"minus before a reference in a product", "#set($i = 5)#set($k = 3 * -$i)", `line 1, column 27: a minus sign`},
		{"minus before a parenthesis", "#set($k = -(5))", `line 1, column 11: a minus sign`},
		{"minus before a space", "#set($k = - 5)", `line 1, column 11: a minus sign`},
		{"minus before a string", `#set($k = -"5")`, `line 1, column 11: a minus sign`},
		{"minus before a reference in a range", "#set($i = 2)#foreach($x in [-$i..0])$x#end", `line 1, column 29: a minus sign`},
		{"unclosed formal in expression", "#set($a = ${b)", `line 1, column 11: unclosed ${`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse("application/json", c.tmpl)
			if err == nil {
				t.Fatalf("parsed %.200q", c.tmpl)
			}
			if !errors.Is(err, ErrSyntax) {
				t.Errorf("%v is not ErrSyntax", err)
			}
			var se *SyntaxError
			if !errors.As(err, &se) || se.Line < 1 || se.Column < 1 {
				t.Errorf("%v has no position", err)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q\nwant it to contain %q", err, c.want)
			}
		})
	}
}

// TestCheckPaths: a literal JSONPath of $input.json or $input.path that does
// not compile (a Jayway function or filter operator Portico lacks) is named
// with its line and column, so that a template being saved is refused rather
// than failing every request that reaches it; Parse still takes it.
func TestCheckPaths(t *testing.T) {
	for _, tt := range []struct{ name, tmpl, want string }{
		{"function", `{"n": $input.json('$.arr.length()')}`, `line 1, column 7: $input.json: invalid JSONPath "$.arr.length()"`},
		{"regex operator", "#set($x = 1)\n#set($v = $input.path('$.a[?(@.n =~ /x/)]'))", `line 2, column 11: $input.path: invalid JSONPath`},
		{"in operator", `#if(true)$input.json("$.a[?(@.n in ['x'])]")#end`, `line 1, column 10: $input.json: invalid JSONPath`},
		{"in a string literal", `#set($s = "x $input.json('$.a.keys()')")`, `line 1, column 14: $input.json: invalid JSONPath "$.a.keys()"`},
		{"ok", `$input.json('$.a[?(@.n == 1)]') $input.path("$..b") $input.json($x) $util.parseJson('x').json('$.(')`, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tm, err := Parse("application/json", tt.tmpl)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			err = tm.CheckPaths()
			if tt.want == "" {
				if err != nil {
					t.Fatalf("CheckPaths = %v, want nil", err)
				}
				return
			}
			var se *SyntaxError
			if !errors.As(err, &se) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("CheckPaths = %v, want a SyntaxError with %s", err, tt.want)
			}
		})
	}
}
