package serving_test

import (
	"strings"
	"testing"

	"github.com/mlmesh/mlmesh/serving"
)

func TestInferencePool(t *testing.T) {
	m := serving.Model{Name: "chat", Namespace: "llm", Runtime: serving.VLLM(), Versions: []serving.Version{{Name: "v1", ModelURI: "meta-llama/Llama-3.1-8B-Instruct"}}}
	p, err := serving.InferencePool(m, "v1", 8000, serving.EndpointPicker{Service: "chat-epp", FailOpen: true})
	if err != nil {
		t.Fatal(err)
	}
	ref := p.Spec.EndpointPickerRef
	if p.Name != "chat-v1" || p.Namespace != "llm" || p.Spec.Selector.MatchLabels["app"] != "chat" || p.Spec.Selector.MatchLabels["version"] != "v1" ||
		len(p.Spec.TargetPorts) != 1 || p.Spec.TargetPorts[0].Number != 8000 ||
		ref.Name != "chat-epp" || ref.Port.Number != serving.DefaultPickerPort || ref.FailureMode != "FailOpen" || ref.Kind != "" {
		t.Errorf("pool %+v", p)
	}
	for _, tc := range []struct {
		version string
		port    int32
		picker  serving.EndpointPicker
		want    string
	}{
		{"v2", 8000, serving.EndpointPicker{Service: "epp"}, `version: "v2" not found`},
		{"v1", 9999, serving.EndpointPicker{Service: "epp"}, `port: invalid value "9999": an HTTP or gRPC port of model chat's runtime`},
		{"v1", 8000, serving.EndpointPicker{}, `picker.service: required`},
		{"v1", 8000, serving.EndpointPicker{Service: "1epp", Port: 70000}, `picker.service: invalid value "1epp"`},
	} {
		_, err := serving.InferencePool(m, tc.version, tc.port, tc.picker)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want %s", tc, err, tc.want)
		}
	}
	if err := (serving.EndpointPicker{Service: "epp", Port: 70000}).Validate(); err == nil || !strings.Contains(err.Error(), `port: invalid value "70000"`) {
		t.Errorf("port 70000: %v", err)
	}
}
