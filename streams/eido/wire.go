package eido

// The JSON shapes of the EIDO 1.0 components this package writes and reads. Only the
// members commandd uses are declared; decoding ignores the others.

// Version is the eidoVersion this package writes and accepts.
const Version = "1.0"

// contextVocab is the JSON-LD vocabulary the schema allows for @context.
const contextVocab = "./JSON-LD_Contexts/EmergencyIncidentDataObjectType.jsonld"

type ref struct {
	Ref string `json:"$ref"`
}

// prologue is the common head of every data component.
type prologue struct {
	ID                string `json:"$id"`
	LastUpdate        string `json:"lastUpdateTimeStamp"`
	UpdatedByAgency   ref    `json:"updatedByAgencyReference"`
	UpdatedByAgentRef *ref   `json:"updatedByAgentReference,omitempty"`
}

type document struct {
	prologue
	EIDOVersion    string              `json:"eidoVersion"`
	IssuingElement string              `json:"issuingElementIdentification"`
	Incident       *incidentComponent  `json:"incidentComponent,omitempty"`
	Calls          []callComponent     `json:"callComponent"`
	Callbacks      []callbackComponent `json:"callbackComponent"`
	Notes          []notesComponent    `json:"notesComponent"`
	Resources      []resourceComponent `json:"emergencyResourceComponent"`
	Agencies       []agencyComponent   `json:"agencyComponent"`
	Agents         []agentComponent    `json:"agentComponent"`
	Locations      []locationComponent `json:"locationComponent"`
	Persons        []personComponent   `json:"personComponent"`
	Context        *jsonLDContext      `json:"@context,omitempty"`
}

type jsonLDContext struct {
	Vocab string `json:"@vocab"`
}

type incidentComponent struct {
	prologue
	TypeInternalCode     string                 `json:"incidentTypeInternalCode,omitempty"`
	TypeInternalText     string                 `json:"incidentTypeInternalText,omitempty"`
	TypeCommon           string                 `json:"incidentTypeCommonRegistryText"`
	StatusInternal       []string               `json:"incidentStatusInternalText,omitempty"`
	StatusCommon         []string               `json:"incidentStatusCommonRegistryText,omitempty"`
	InternalID           string                 `json:"internalIncidentId,omitempty"`
	LocationReference    []ref                  `json:"locationReference,omitempty"`
	PriorityInternalText string                 `json:"incidentPriorityInternalText,omitempty"`
	CommonPriority       *int64                 `json:"incidentCommonPriorityNumber,omitempty"`
	Beat                 string                 `json:"beatOrDispatchGroupText,omitempty"`
	Dispositions         []dispositionComponent `json:"dispositionComponent,omitempty"`
	NotesReference       []ref                  `json:"notesReference,omitempty"`
}

type dispositionComponent struct {
	prologue
	Code        string `json:"dispositionCommonRegistryCode"`
	Primary     bool   `json:"dispositionPrimaryIndicator"`
	Description string `json:"dispositionDescriptionText,omitempty"`
}

type callComponent struct {
	prologue
	PrimaryCallType   string `json:"standardPrimaryCallType"`
	LocalCallType     string `json:"localCallType,omitempty"`
	Direction         string `json:"direction"`
	Priority          string `json:"priorityIdentifier,omitempty"`
	Start             string `json:"callStartTimestamp"`
	State             string `json:"callStateRegistryText"`
	CallBackReference *ref   `json:"callBackReference,omitempty"`
	LocationReference []ref  `json:"locationReference,omitempty"`
	NotesReference    []ref  `json:"notesReference,omitempty"`
	PersonReference   []ref  `json:"personReference,omitempty"`
}

type callbackComponent struct {
	prologue
	URIs []string `json:"callBackInformationUri"`
}

type notesComponent struct {
	prologue
	Comments       string `json:"notesActionComments"`
	AgentReference *ref   `json:"agentReference,omitempty"`
}

type resourceComponent struct {
	prologue
	TypeCommon      string   `json:"emergencyResourceTypeCommonRegistryText"`
	Attributes      []string `json:"resourceAttributeRegistryText"`
	Name            string   `json:"emergencyResourceName,omitempty"`
	PrimaryStatus   string   `json:"primaryUnitStatusRegistryText"`
	SecondaryStatus []string `json:"secondaryUnitStatusRegistryText"`
	StatusInternal  []string `json:"unitStatusInternal,omitempty"`
	AgentReference  []ref    `json:"agentReference"`
	DestinationRef  *ref     `json:"unitDestinationReference,omitempty"`
	ETA             string   `json:"eta,omitempty"`
}

type agencyComponent struct {
	prologue
	Roles  []string `json:"agencyRoleDescriptionRegistryText"`
	Types  []string `json:"agencyType"`
	Owning bool     `json:"incidentOwningAgencyIndicator"`
}

type agentComponent struct {
	prologue
	Roles           []string `json:"agentRoleRegistryText"`
	AgencyReference ref      `json:"agencyReference"`
}

type locationComponent struct {
	prologue
	Type        string `json:"locationTypeDescriptionRegistryText"`
	ByValue     string `json:"locationByValue,omitempty"`
	ByReference string `json:"locationByReferenceUrl,omitempty"`
	Description string `json:"locationDescriptionText,omitempty"`
}

type personComponent struct {
	prologue
	Roles             []string `json:"personIncidentRoleRegistryText"`
	CallIdentifier    []string `json:"callIdentifier,omitempty"`
	LocationReference []ref    `json:"locationReference,omitempty"`
	CallBackReference *ref     `json:"callBackReference,omitempty"`
}
