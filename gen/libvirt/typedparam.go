package libvirt

// The types of typed-parameter field names. libvirt's calls that take or
// return a list of typed parameters (virTypedParameter) name each value
// and give it one of seven types; the string constants of this package
// that name such fields have the type that says which, so that package
// params reads and sets them with the right accessor, checked when the
// program compiles: params.List.Uint(libvirt.DomainSchedulerWeight) is a
// uint32, params.List.Uint64(libvirt.DomainSchedulerWeight) does not
// compile. A name libvirt documents no type for is an untyped string
// constant, and a string literal converts to whichever type the accessor
// takes.
//
// This file is written by hand; the constants are generated.

// IntParam names a typed-parameter field holding an int
// (VIR_TYPED_PARAM_INT, an int32 here).
type IntParam string

// UintParam names a typed-parameter field holding an unsigned int
// (VIR_TYPED_PARAM_UINT, a uint32 here).
type UintParam string

// Int64Param names a typed-parameter field holding a long long
// (VIR_TYPED_PARAM_LLONG, an int64 here).
type Int64Param string

// Uint64Param names a typed-parameter field holding an unsigned long long
// (VIR_TYPED_PARAM_ULLONG, a uint64 here).
type Uint64Param string

// Float64Param names a typed-parameter field holding a double
// (VIR_TYPED_PARAM_DOUBLE, a float64 here).
type Float64Param string

// BoolParam names a typed-parameter field holding a boolean
// (VIR_TYPED_PARAM_BOOLEAN, a bool here; on the wire an int, 0 or 1).
type BoolParam string

// StringParam names a typed-parameter field holding a string
// (VIR_TYPED_PARAM_STRING).
type StringParam string

// Type returns the value type the name's field holds.
func (IntParam) Type() TypedParameterType { return TypedParamInt }

// Type returns the value type the name's field holds.
func (UintParam) Type() TypedParameterType { return TypedParamUint }

// Type returns the value type the name's field holds.
func (Int64Param) Type() TypedParameterType { return TypedParamLlong }

// Type returns the value type the name's field holds.
func (Uint64Param) Type() TypedParameterType { return TypedParamUllong }

// Type returns the value type the name's field holds.
func (Float64Param) Type() TypedParameterType { return TypedParamDouble }

// Type returns the value type the name's field holds.
func (BoolParam) Type() TypedParameterType { return TypedParamBoolean }

// Type returns the value type the name's field holds.
func (StringParam) Type() TypedParameterType { return TypedParamString }
