package admin_test

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"
	"github.com/aws/aws-sdk-go-v2/service/apigatewayv2"
	v2types "github.com/aws/aws-sdk-go-v2/service/apigatewayv2/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
)

// seenOnce fails unless got holds each of want exactly once (and nothing else).
func seenOnce(t *testing.T, what string, got, want []string) {
	t.Helper()
	count := map[string]int{}
	for _, g := range got {
		count[g]++
	}
	var missed, twice []string
	for _, w := range want {
		switch count[w] {
		case 0:
			missed = append(missed, w)
		case 1:
		default:
			twice = append(twice, w)
		}
	}
	if len(missed) > 0 || len(twice) > 0 || len(got) != len(want) {
		t.Errorf("%s: deleting as it paged saw %v: missed %v, saw twice %v (want each of %v once)", what, got, missed, twice, want)
	}
}

// The cleanup loops below do what users' scripts do: list a page, delete what
// it holds, ask for the next page with the marker the list returned. A marker
// that was an offset skipped items (the list had shrunk under it) or became
// invalid; API Gateway's, the id of the next item, became invalid when another
// cleaner deleted that item. A marker that is a place in the list's order sees
// every item once.

func TestLambdaListsDeletingAsTheyPage(t *testing.T) {
	t.Parallel()
	c := startControlPlane(t).fn
	ctx := t.Context()

	t.Run("ListFunctions", func(t *testing.T) {
		var want []string
		for _, n := range []string{"mk-a", "mk-b", "mk-c", "mk-d", "mk-e", "mk-f", "mk-g"} {
			createIdle(t, ctx, c, n, "x")
			want = append(want, n)
		}
		var got []string
		p := lambda.NewListFunctionsPaginator(c, &lambda.ListFunctionsInput{}, func(o *lambda.ListFunctionsPaginatorOptions) { o.Limit = 2 })
		for p.HasMorePages() {
			out, err := p.NextPage(ctx)
			if err != nil {
				t.Fatalf("ListFunctions after %v: %v", got, err)
			}
			for _, f := range out.Functions {
				got = append(got, aws.ToString(f.FunctionName))
				if _, err := c.DeleteFunction(ctx, &lambda.DeleteFunctionInput{FunctionName: f.FunctionName}); err != nil {
					t.Fatalf("DeleteFunction(%s): %v", aws.ToString(f.FunctionName), err)
				}
			}
		}
		seenOnce(t, "ListFunctions", got, want)
	})

	t.Run("ListVersionsByFunction", func(t *testing.T) {
		createIdle(t, ctx, c, "mk-versions", "x")
		want := []string{"$LATEST"}
		for i := 1; i <= 11; i++ { // past 9, so that versions sort as numbers
			if _, err := c.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{
				FunctionName: aws.String("mk-versions"), Timeout: aws.Int32(int32(10 + i)),
			}); err != nil {
				t.Fatal(err)
			}
			v, err := c.PublishVersion(ctx, &lambda.PublishVersionInput{FunctionName: aws.String("mk-versions")})
			if err != nil {
				t.Fatal(err)
			}
			want = append(want, aws.ToString(v.Version))
		}
		var got []string
		p := lambda.NewListVersionsByFunctionPaginator(c, &lambda.ListVersionsByFunctionInput{FunctionName: aws.String("mk-versions")},
			func(o *lambda.ListVersionsByFunctionPaginatorOptions) { o.Limit = 3 })
		for p.HasMorePages() {
			out, err := p.NextPage(ctx)
			if err != nil {
				t.Fatalf("ListVersionsByFunction after %v: %v", got, err)
			}
			for _, v := range out.Versions {
				got = append(got, aws.ToString(v.Version))
				if aws.ToString(v.Version) == "$LATEST" {
					continue
				}
				if _, err := c.DeleteFunction(ctx, &lambda.DeleteFunctionInput{FunctionName: aws.String("mk-versions"), Qualifier: v.Version}); err != nil {
					t.Fatalf("DeleteFunction(mk-versions:%s): %v", aws.ToString(v.Version), err)
				}
			}
		}
		seenOnce(t, "ListVersionsByFunction", got, want)
		if !slices.Equal(got, want) {
			t.Errorf("versions listed as %v, want $LATEST then by number: %v", got, want)
		}
	})

	t.Run("a marker Portico never issued is refused", func(t *testing.T) {
		for _, m := range []string{"2", "x", base64.RawURLEncoding.EncodeToString([]byte("o:2"))} {
			_, err := c.ListFunctions(ctx, &lambda.ListFunctionsInput{Marker: aws.String(m)})
			apiError(t, err, "InvalidParameterValueException", http.StatusBadRequest)
		}
	})
}

func TestAPIGatewayV2ListsDeletingAsTheyPage(t *testing.T) {
	t.Parallel()
	e := startV2(t)
	ctx := t.Context()

	var want []string
	for i := range 7 {
		api, err := e.ag.CreateApi(ctx, &apigatewayv2.CreateApiInput{Name: aws.String(fmt.Sprintf("mk-%d", i)), ProtocolType: v2types.ProtocolTypeHttp})
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, aws.ToString(api.ApiId))
	}
	keep := want[0] // for its routes
	want = want[1:]

	var got []string
	var token *string
	for {
		out, err := e.ag.GetApis(ctx, &apigatewayv2.GetApisInput{MaxResults: aws.String("2"), NextToken: token})
		if err != nil {
			t.Fatalf("GetApis after %v: %v", got, err)
		}
		for _, a := range out.Items {
			id := aws.ToString(a.ApiId)
			if id == keep {
				continue
			}
			got = append(got, id)
			if _, err := e.ag.DeleteApi(ctx, &apigatewayv2.DeleteApiInput{ApiId: a.ApiId}); err != nil {
				t.Fatalf("DeleteApi(%s): %v", id, err)
			}
		}
		if token = out.NextToken; token == nil {
			break
		}
	}
	seenOnce(t, "GetApis", got, want)

	var routes []string
	for _, p := range []string{"/a", "/b", "/c", "/d", "/e", "/f", "/g"} {
		rt, err := e.ag.CreateRoute(ctx, &apigatewayv2.CreateRouteInput{ApiId: aws.String(keep), RouteKey: aws.String("GET " + p)})
		if err != nil {
			t.Fatal(err)
		}
		routes = append(routes, aws.ToString(rt.RouteKey))
	}
	got, token = nil, nil
	for {
		out, err := e.ag.GetRoutes(ctx, &apigatewayv2.GetRoutesInput{ApiId: aws.String(keep), MaxResults: aws.String("2"), NextToken: token})
		if err != nil {
			t.Fatalf("GetRoutes after %v: %v", got, err)
		}
		for _, rt := range out.Items {
			got = append(got, aws.ToString(rt.RouteKey))
			if _, err := e.ag.DeleteRoute(ctx, &apigatewayv2.DeleteRouteInput{ApiId: aws.String(keep), RouteId: rt.RouteId}); err != nil {
				t.Fatalf("DeleteRoute(%s): %v", aws.ToString(rt.RouteKey), err)
			}
		}
		if token = out.NextToken; token == nil {
			break
		}
	}
	seenOnce(t, "GetRoutes", got, routes)

	_, err := e.ag.GetApis(ctx, &apigatewayv2.GetApisInput{NextToken: aws.String(base64.RawURLEncoding.EncodeToString([]byte("o:2")))})
	wantV2Error(t, err, http.StatusBadRequest, "BadRequestException", "nextToken")
}

func TestAPIGatewayListsDeletingAsTheyPage(t *testing.T) {
	t.Parallel()
	e := startControlPlane(t)
	ctx := t.Context()

	t.Run("GetRestApis", func(t *testing.T) {
		var want []string
		for i := range 7 {
			api, err := e.ag.CreateRestApi(ctx, &apigateway.CreateRestApiInput{Name: aws.String(fmt.Sprintf("mk-%d", i))})
			if err != nil {
				t.Fatal(err)
			}
			want = append(want, aws.ToString(api.Id))
		}
		var got, gone []string
		del := func(id string) {
			if _, err := e.ag.DeleteRestApi(ctx, &apigateway.DeleteRestApiInput{RestApiId: aws.String(id)}); err != nil {
				t.Fatalf("DeleteRestApi(%s): %v", id, err)
			}
		}
		p := apigateway.NewGetRestApisPaginator(e.ag, &apigateway.GetRestApisInput{Limit: aws.Int32(2)})
		for p.HasMorePages() {
			out, err := p.NextPage(ctx)
			if err != nil {
				t.Fatalf("GetRestApis after %v: %v", got, err)
			}
			for _, a := range out.Items {
				got = append(got, aws.ToString(a.Id))
				del(aws.ToString(a.Id))
			}
			// Another cleaner deletes the first API left: the one the next page
			// would start with.
			if all, err := e.ag.GetRestApis(ctx, &apigateway.GetRestApisInput{Limit: aws.Int32(500)}); err != nil {
				t.Fatal(err)
			} else if len(all.Items) > 0 {
				gone = append(gone, aws.ToString(all.Items[0].Id))
				del(aws.ToString(all.Items[0].Id))
			}
		}
		seenOnce(t, "GetRestApis (with the ones another deleted)", append(got, gone...), want)
	})

	t.Run("GetApiKeys", func(t *testing.T) {
		var want []string
		for i := range 7 {
			k, err := e.ag.CreateApiKey(ctx, &apigateway.CreateApiKeyInput{Name: aws.String(fmt.Sprintf("mk-%d", i))})
			if err != nil {
				t.Fatal(err)
			}
			want = append(want, aws.ToString(k.Id))
		}
		var got, gone []string
		del := func(id string) {
			if _, err := e.ag.DeleteApiKey(ctx, &apigateway.DeleteApiKeyInput{ApiKey: aws.String(id)}); err != nil {
				t.Fatalf("DeleteApiKey(%s): %v", id, err)
			}
		}
		p := apigateway.NewGetApiKeysPaginator(e.ag, &apigateway.GetApiKeysInput{Limit: aws.Int32(2)})
		for p.HasMorePages() {
			out, err := p.NextPage(ctx)
			if err != nil {
				t.Fatalf("GetApiKeys after %v: %v", got, err)
			}
			for _, k := range out.Items {
				got = append(got, aws.ToString(k.Id))
				del(aws.ToString(k.Id))
			}
			if all, err := e.ag.GetApiKeys(ctx, &apigateway.GetApiKeysInput{Limit: aws.Int32(500)}); err != nil {
				t.Fatal(err)
			} else if len(all.Items) > 0 {
				gone = append(gone, aws.ToString(all.Items[0].Id))
				del(aws.ToString(all.Items[0].Id))
			}
		}
		seenOnce(t, "GetApiKeys (with the ones another deleted)", append(got, gone...), want)
	})

	t.Run("GetModels", func(t *testing.T) {
		api, err := e.ag.CreateRestApi(ctx, &apigateway.CreateRestApiInput{Name: aws.String("models")})
		if err != nil {
			t.Fatal(err)
		}
		var want []string
		for i := range 7 {
			m, err := e.ag.CreateModel(ctx, &apigateway.CreateModelInput{RestApiId: api.Id, Name: aws.String(fmt.Sprintf("Mk%d", i)),
				ContentType: aws.String("application/json"), Schema: aws.String(`{"type":"object"}`)})
			if err != nil {
				t.Fatal(err)
			}
			want = append(want, aws.ToString(m.Name))
		}
		var got, gone []string
		del := func(name string) {
			if _, err := e.ag.DeleteModel(ctx, &apigateway.DeleteModelInput{RestApiId: api.Id, ModelName: aws.String(name)}); err != nil {
				t.Fatalf("DeleteModel(%s): %v", name, err)
			}
		}
		p := apigateway.NewGetModelsPaginator(e.ag, &apigateway.GetModelsInput{RestApiId: api.Id, Limit: aws.Int32(2)})
		for p.HasMorePages() {
			out, err := p.NextPage(ctx)
			if err != nil {
				t.Fatalf("GetModels after %v: %v", got, err)
			}
			for _, m := range out.Items {
				name := aws.ToString(m.Name)
				if !slices.Contains(want, name) {
					continue // one API Gateway creates itself
				}
				got = append(got, name)
				del(name)
			}
			all, err := e.ag.GetModels(ctx, &apigateway.GetModelsInput{RestApiId: api.Id, Limit: aws.Int32(500)})
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range all.Items {
				if name := aws.ToString(m.Name); slices.Contains(want, name) {
					gone = append(gone, name)
					del(name)
					break
				}
			}
		}
		seenOnce(t, "GetModels (with the ones another deleted)", append(got, gone...), want)
	})

	t.Run("a position Portico never issued is refused", func(t *testing.T) {
		_, err := e.ag.GetRestApis(ctx, &apigateway.GetRestApisInput{Position: aws.String("bogus")})
		apiError(t, err, "BadRequestException", http.StatusBadRequest)
	})
}
