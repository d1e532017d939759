package mapping

// The syntax tree. Nodes are statements rendered in order; exprs are values.
// Offsets (off) index the template source and become line and column in
// error messages.

type node interface{}

type textNode struct{ text string }

// refNode renders a reference. backslashes counts the escape characters
// written before it (\$a renders "$a" when $a is defined).
type refNode struct {
	ref         *refExpr
	backslashes int
}

type setNode struct {
	target *refExpr
	val    expr
	off    int
}

type ifNode struct {
	conds  []expr
	bodies [][]node
	els    []node
	hasEls bool
}

type foreachNode struct {
	name string
	slot int
	iter expr
	body []node
	off  int
}

type breakNode struct{}

type stopNode struct{}

type defineNode struct {
	name string
	slot int
	body []node
}

type macroDef struct {
	name   string
	params []string
	slots  []int
	body   []node
}

type macroCall struct {
	m    *macroDef
	args []expr
	off  int
}

type expr interface{}

type litExpr struct{ v any }

// strExpr is a double-quoted string with references or directives in it.
type strExpr struct{ parts []node }

type partKind uint8

const (
	partProp partKind = iota
	partMethod
	partIndex
)

type refPart struct {
	kind partKind
	name string
	args []expr
	// jp is the JSONPath of a literal first argument that compiles, kept for
	// $input.json('...') and $input.path('...').
	jp *JSONPath
	// re is the compiled regular expression of a literal first argument, for
	// replaceAll, replaceFirst, matches and split.
	re *regexpCache
}

type refExpr struct {
	// direct marks $util.escapeJavaScript(x) and $input.json(x), which
	// render straight into the output when written in the text, and
	// $input.params().header.get(x) (or path, querystring), which reads
	// the parameter without building $input.params().
	direct directKind
	name   string
	slot   int // index of the variable in the render's slots
	parts  []refPart
	quiet  bool
	raw    string // the source text, rendered when the reference is undefined
	off    int
}

type directKind uint8

const (
	directNone directKind = iota
	directEscapeJS
	directInputJSON
	directParamsGet
)

type listExpr struct{ items []expr }

type mapExpr struct{ keys, vals []expr }

type rangeExpr struct{ lo, hi expr }

type opKind uint8

const (
	opOr opKind = iota
	opAnd
	opEq
	opNe
	opLt
	opLe
	opGt
	opGe
	opAdd
	opSub
	opMul
	opDiv
	opMod
)

type binExpr struct {
	op   opKind
	l, r expr
}

type notExpr struct{ x expr }

// Variables live in slots numbered at parse time; these are the built-ins.
const (
	slotInput = iota
	slotUtil
	slotContext
	slotStageVariables
	slotForeach
	slotVelocityCount
	slotVelocityHasNext
	numBuiltins
)

// symtab numbers the variables of one template.
type symtab struct {
	index map[string]int
	used  [numBuiltins]bool // the built-ins the template names
}

func newSymtab() *symtab {
	return &symtab{index: map[string]int{"input": slotInput, "util": slotUtil, "context": slotContext,
		"stageVariables": slotStageVariables, "foreach": slotForeach, "velocityCount": slotVelocityCount,
		"velocityHasNext": slotVelocityHasNext}}
}

func (s *symtab) slot(name string) int {
	if i, ok := s.index[name]; ok {
		if i < numBuiltins {
			s.used[i] = true
		}
		return i
	}
	i := len(s.index)
	s.index[name] = i
	return i
}
