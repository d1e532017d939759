package admin_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigateway"
	"github.com/aws/aws-sdk-go-v2/service/apigateway/types"
)

// TestCreateModelRefBomb: create-model and update-model refuse a model that
// would check a body against more than 1000 schemas (r-openapi28 #1: Mi an
// allOf of ten canonical $refs to M(i-1)), naming the model and the limit.
func TestCreateModelRefBomb(t *testing.T) {
	t.Parallel()
	c := startControlPlane(t)
	ctx := context.Background()
	api := must[*apigateway.CreateRestApiOutput](t, "CreateRestApi")(c.ag.CreateRestApi(ctx, &apigateway.CreateRestApiInput{Name: aws.String("bomb")}))
	id := aws.ToString(api.Id)
	tenRefs := func(to string) string {
		ref := `{"$ref": "https://apigateway.amazonaws.com/restapis/` + id + `/models/` + to + `"}`
		return `{"allOf": [` + strings.TrimSuffix(strings.Repeat(ref+",", 10), ",") + `]}`
	}
	model := func(name, schema string) error {
		_, err := c.ag.CreateModel(ctx, &apigateway.CreateModelInput{RestApiId: api.Id, Name: aws.String(name),
			ContentType: aws.String("application/json"), Schema: aws.String(schema)})
		return err
	}
	if err := model("M0", `{"type": "object", "properties": {"x": {"type": "string"}}}`); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 2; i++ {
		if err := model(fmt.Sprintf("M%d", i), tenRefs(fmt.Sprintf("M%d", i-1))); err != nil {
			t.Fatalf("M%d (checks a value against %d schemas at most): %v", i, 111, err)
		}
	}
	err := model("M3", tenRefs("M2"))
	apiError(t, err, "BadRequestException", 400)
	if _, msg := apiErr(t, err); !strings.Contains(msg, `model "M3"`) || !strings.Contains(msg, "more than 1000 schemas") {
		t.Errorf("create-model M3: %q, want the model and the limit named", msg)
	}
	if err := model("M3", `{"$ref": "https://apigateway.amazonaws.com/restapis/`+id+`/models/M2"}`); err != nil {
		t.Fatal(err)
	}
	_, err = c.ag.UpdateModel(ctx, &apigateway.UpdateModelInput{RestApiId: api.Id, ModelName: aws.String("M3"),
		PatchOperations: []types.PatchOperation{{Op: types.OpReplace, Path: aws.String("/schema"), Value: aws.String(tenRefs("M2"))}}})
	apiError(t, err, "BadRequestException", 400)
	if _, msg := apiErr(t, err); !strings.Contains(msg, `model "M3"`) || !strings.Contains(msg, "more than 1000 schemas") {
		t.Errorf("update-model M3: %q, want the model and the limit named", msg)
	}
}
