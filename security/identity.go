package security

import (
	"regexp"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/mlmesh/mlmesh/internal/check"
	"github.com/mlmesh/mlmesh/internal/fielderr"
	"github.com/mlmesh/mlmesh/internal/fieldpath"
	"github.com/mlmesh/mlmesh/internal/labels"
)

// The annotations and label of cloud workload identity: a pod running as
// the service account gets the cloud identity's credentials, without keys.
const (
	// AWSRoleAnnotation is EKS's IAM roles for service accounts (IRSA).
	AWSRoleAnnotation = "eks.amazonaws.com/role-arn"
	// GCPServiceAccountAnnotation is GKE Workload Identity.
	GCPServiceAccountAnnotation = "iam.gke.io/gcp-service-account"
	// AzureClientIDAnnotation is Azure Workload Identity's application.
	AzureClientIDAnnotation = "azure.workload.identity/client-id"
	// AzureTenantIDAnnotation is its tenant, when not the cluster's.
	AzureTenantIDAnnotation = "azure.workload.identity/tenant-id"
	// AzurePodLabel must be on the pods for Azure's webhook to inject the
	// credentials (see PodLabels).
	AzurePodLabel = "azure.workload.identity/use"
)

// Identity is a ServiceAccount for a workload's pods: the identity Istio's
// mTLS certificates carry, which AuthorizationPolicies name, and, through
// cloud workload identity, the cloud role that reads a model store.
type Identity struct {
	// Name names the ServiceAccount. A DNS-1123 subdomain. Required.
	Name string
	// Namespace is where it goes; empty means "default".
	Namespace string
	// AWSRoleARN is the IAM role the pods assume on EKS
	// ("arn:aws:iam::123456789012:role/model-reader").
	AWSRoleARN string
	// GCPServiceAccount is the Google service account the pods act as on
	// GKE ("reader@project.iam.gserviceaccount.com").
	GCPServiceAccount string
	// AzureClientID is the client ID (a UUID) of the Entra application or
	// managed identity the pods use with Azure Workload Identity; the pods
	// must carry AzurePodLabel (mesh adds it).
	AzureClientID string
	// AzureTenantID is the tenant of AzureClientID; empty means the
	// cluster's.
	AzureTenantID string
	// MountAPIToken mounts a Kubernetes API token into the pods. Off by
	// default: model servers do not call the Kubernetes API, and Istio's
	// proxy and the clouds' identity webhooks use tokens of their own.
	MountAPIToken bool
	// Annotations are added to the ServiceAccount (another identity
	// provider's, say).
	Annotations map[string]string
	// Labels are put on the ServiceAccount.
	Labels map[string]string
}

var (
	// awsRoleARN leaves the role name's length (1 to 512) to validRoleARN: a
	// {1,512} repetition here would compile into 512 copies of the class at
	// the start of every program that imports this package.
	awsRoleARN = regexp.MustCompile(`^arn:aws(-cn|-us-gov|-iso|-iso-b)?:iam::[0-9]{12}:role/[A-Za-z0-9+=,.@_/-]+$`)
	gcpAccount = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}@[a-z0-9][a-z0-9.-]*\.gserviceaccount\.com$`)
	uuid       = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
)

// maxRoleName is the longest IAM role name with its path, in characters.
const maxRoleName = 512

// validRoleARN reports whether arn is an IAM role's ARN. The name after
// ":role/" holds no colon, so that is where it begins.
func validRoleARN(arn string) bool {
	return awsRoleARN.MatchString(arn) && len(arn)-strings.LastIndex(arn, ":role/")-len(":role/") <= maxRoleName
}

// Validate reports every problem in id at once, as a *ValidationError, or nil.
func (id Identity) Validate() error {
	errs := checkMeta(id.Name, id.Namespace, nil, id.Labels)
	if id.AWSRoleARN != "" && !validRoleARN(id.AWSRoleARN) {
		errs = append(errs, field.Invalid(fieldpath.New("awsRoleARN").Field(), id.AWSRoleARN, "an IAM role ARN, arn:aws:iam::<12-digit account>:role/<name>"))
	}
	if id.GCPServiceAccount != "" && !gcpAccount.MatchString(id.GCPServiceAccount) {
		errs = append(errs, field.Invalid(fieldpath.New("gcpServiceAccount").Field(), id.GCPServiceAccount, "a Google service account email, <name>@<project>.iam.gserviceaccount.com"))
	}
	if id.AzureClientID != "" && !uuid.MatchString(id.AzureClientID) {
		errs = append(errs, field.Invalid(fieldpath.New("azureClientID").Field(), id.AzureClientID, "a client ID, a UUID"))
	}
	if id.AzureTenantID != "" && !uuid.MatchString(id.AzureTenantID) {
		errs = append(errs, field.Invalid(fieldpath.New("azureTenantID").Field(), id.AzureTenantID, "a tenant ID, a UUID"))
	}
	if id.AzureTenantID != "" && id.AzureClientID == "" {
		errs = append(errs, field.Required(fieldpath.New("azureClientID").Field(), "azureTenantID is set: the client ID in that tenant"))
	}
	for k := range id.Annotations {
		for _, msg := range check.QualifiedName(k) {
			errs = append(errs, field.Invalid(fieldpath.New("annotations").Key(k).Field(), k, msg))
		}
		switch k {
		case AWSRoleAnnotation, GCPServiceAccountAnnotation, AzureClientIDAnnotation, AzureTenantIDAnnotation:
			errs = append(errs, field.Invalid(fieldpath.New("annotations").Key(k).Field(), k, "set by a field of Identity, which checks its value: use it"))
		}
	}
	return fielderr.New("security.Identity", check.Sorted(errs))
}

func (id Identity) cloudAnnotations() map[string]string {
	m := map[string]string{}
	for k, v := range map[string]string{
		AWSRoleAnnotation: id.AWSRoleARN, GCPServiceAccountAnnotation: id.GCPServiceAccount,
		AzureClientIDAnnotation: id.AzureClientID, AzureTenantIDAnnotation: id.AzureTenantID,
	} {
		if v != "" {
			m[k] = v
		}
	}
	return m
}

// PodLabels are the labels the pods of id need: AzurePodLabel with Azure
// Workload Identity; none otherwise.
func (id Identity) PodLabels() map[string]string {
	if id.AzureClientID == "" {
		return nil
	}
	return map[string]string{AzurePodLabel: "true"}
}

// ServiceAccount validates id and returns its ServiceAccount.
func ServiceAccount(id Identity) (*corev1.ServiceAccount, error) {
	if err := id.Validate(); err != nil {
		return nil, err
	}
	return id.serviceAccount(), nil
}

func (id *Identity) serviceAccount() *corev1.ServiceAccount {
	sa := &corev1.ServiceAccount{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "ServiceAccount"},
		ObjectMeta: meta(id.Name, id.Namespace, id.Labels),
	}
	if a := labels.Merge(id.Annotations, id.cloudAnnotations()); len(a) > 0 {
		sa.Annotations = a
	}
	mount := id.MountAPIToken
	sa.AutomountServiceAccountToken = &mount
	return sa
}
