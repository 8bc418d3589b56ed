package canon

import "google.golang.org/protobuf/reflect/protoreflect"

// wellKnownKind is how a message type is written when it is one of
// protobuf's well-known types, in protojson's forms.
type wellKnownKind uint8

const (
	wkNone     wellKnownKind = iota // not a well-known type: a message
	wkDuration                      // "1.500s"
	wkWrapper                       // the wrapped scalar, as the field would be
	wkJSON                          // protojson's own output (Timestamp, Struct, ...)
	// wkReflect is a compiled message codec's mark for a message that the
	// reflective path (proto.go) writes: wkJSON types, and structs that are
	// not what protoc-gen-go generates.
	wkReflect
)

// wellKnownTypes is the one table of the well-known types the encoder
// writes in a form of their own; both the reflective path (wellKnown) and
// the compiled codecs (msgCodec.compile) read it. Any other type of package
// google.protobuf is written by the reflective path as a message.
var wellKnownTypes = map[protoreflect.FullName]wellKnownKind{
	"google.protobuf.Duration": wkDuration,

	"google.protobuf.BoolValue":   wkWrapper,
	"google.protobuf.Int32Value":  wkWrapper,
	"google.protobuf.UInt32Value": wkWrapper,
	"google.protobuf.Int64Value":  wkWrapper,
	"google.protobuf.UInt64Value": wkWrapper,
	"google.protobuf.FloatValue":  wkWrapper,
	"google.protobuf.DoubleValue": wkWrapper,
	"google.protobuf.StringValue": wkWrapper,
	"google.protobuf.BytesValue":  wkWrapper,

	"google.protobuf.Timestamp": wkJSON,
	"google.protobuf.Struct":    wkJSON,
	"google.protobuf.Value":     wkJSON,
	"google.protobuf.ListValue": wkJSON,
	"google.protobuf.Any":       wkJSON,
	"google.protobuf.FieldMask": wkJSON,
	"google.protobuf.Empty":     wkJSON,
}
