/*
** parse/lang.c: the languages semcode knows. Names, detection from file
** name and shebang, and the per-language tables that give grammar node
** types their role in extraction (see the DESIGN block in parse_int.h).
** Adding a language = one grammar in module.mk + one table here.
*/
#include <string.h>
#include <strings.h>

#include "parse/parse_int.h"

/* Entry points of the grammars (generated parser.c of each npm package). */
const TSLanguage *tree_sitter_python(void);
const TSLanguage *tree_sitter_javascript(void);
const TSLanguage *tree_sitter_typescript(void);
const TSLanguage *tree_sitter_tsx(void);
const TSLanguage *tree_sitter_go(void);
const TSLanguage *tree_sitter_java(void);
const TSLanguage *tree_sitter_c(void);
const TSLanguage *tree_sitter_cpp(void);
const TSLanguage *tree_sitter_rust(void);
const TSLanguage *tree_sitter_ruby(void);
const TSLanguage *tree_sitter_php(void);
const TSLanguage *tree_sitter_c_sharp(void);
const TSLanguage *tree_sitter_bash(void);

/* ==== Names ==== */

const char *const parse_field_names[PARSE_F_COUNT] = {
    "body",
    "declarator",
    "default_value",
    "key",
    "left",
    "name",
    "parameter",
    "parameters",
    "pattern",
    "property",
    "receiver",
    "result",
    "return_type",
    "returns",
    "right",
    "superclass",
    "superclasses",
    "type",
    "type_parameters",
    "value",
};

static const char *const parse__lang_names[SC_LANG_COUNT] = {
    "unknown", "python", "javascript", "typescript", "tsx", "go", "java", "c", "cpp", "rust",
    "ruby", "php", "csharp", "bash", "markdown", "yaml", "json", "toml", "text",
};

const char *sc_lang_name(sc_lang lang) {
    if ((unsigned)lang >= SC_LANG_COUNT) return "unknown";
    return parse__lang_names[lang];
}

sc_lang sc_lang_from_name(const char *name) {
    static const struct { const char *alias; sc_lang lang; } aliases[] = {
        {"py", SC_LANG_PYTHON}, {"js", SC_LANG_JAVASCRIPT}, {"jsx", SC_LANG_JAVASCRIPT},
        {"ts", SC_LANG_TYPESCRIPT}, {"c++", SC_LANG_CPP}, {"c#", SC_LANG_CSHARP},
        {"cs", SC_LANG_CSHARP}, {"c_sharp", SC_LANG_CSHARP}, {"sh", SC_LANG_BASH},
        {"shell", SC_LANG_BASH}, {"rb", SC_LANG_RUBY}, {"md", SC_LANG_MARKDOWN},
        {"yml", SC_LANG_YAML}, {"golang", SC_LANG_GO}, {"rs", SC_LANG_RUST},
    };
    if (!name) return SC_LANG_UNKNOWN;
    for (int i = 1; i < SC_LANG_COUNT; i++)
        if (!strcasecmp(name, parse__lang_names[i])) return (sc_lang)i;
    for (size_t i = 0; i < sizeof aliases / sizeof aliases[0]; i++)
        if (!strcasecmp(name, aliases[i].alias)) return aliases[i].lang;
    return SC_LANG_UNKNOWN;
}

const char *sc_entity_kind_name(sc_entity_kind kind) {
    static const char *const names[SC_ENTITY_KIND_COUNT] = {
        "function", "method", "class", "struct", "interface", "trait", "enum", "module", "chunk",
    };
    if ((unsigned)kind >= SC_ENTITY_KIND_COUNT) return "unknown";
    return names[kind];
}

const char *sc_skip_reason_name(sc_skip_reason r) {
    static const char *const names[SC_SKIP_COUNT] = {
        "none", "empty", "binary", "too_large", "minified", "generated", "unreadable", "lang",
    };
    if ((unsigned)r >= SC_SKIP_COUNT) return "unknown";
    return names[r];
}

/* ==== Detection ==== */

static const struct { const char *ext; sc_lang lang; } parse__exts[] = {
    {"py", SC_LANG_PYTHON}, {"pyi", SC_LANG_PYTHON}, {"pyw", SC_LANG_PYTHON},
    {"js", SC_LANG_JAVASCRIPT}, {"mjs", SC_LANG_JAVASCRIPT}, {"cjs", SC_LANG_JAVASCRIPT},
    {"jsx", SC_LANG_JAVASCRIPT}, {"ts", SC_LANG_TYPESCRIPT}, {"mts", SC_LANG_TYPESCRIPT},
    {"cts", SC_LANG_TYPESCRIPT}, {"tsx", SC_LANG_TSX}, {"go", SC_LANG_GO},
    {"java", SC_LANG_JAVA}, {"c", SC_LANG_C}, {"h", SC_LANG_C}, {"cc", SC_LANG_CPP},
    {"cpp", SC_LANG_CPP}, {"cxx", SC_LANG_CPP}, {"c++", SC_LANG_CPP}, {"hpp", SC_LANG_CPP},
    {"hh", SC_LANG_CPP}, {"hxx", SC_LANG_CPP}, {"h++", SC_LANG_CPP}, {"ipp", SC_LANG_CPP},
    {"inl", SC_LANG_CPP}, {"rs", SC_LANG_RUST}, {"rb", SC_LANG_RUBY}, {"rake", SC_LANG_RUBY},
    {"gemspec", SC_LANG_RUBY}, {"php", SC_LANG_PHP}, {"phtml", SC_LANG_PHP},
    {"cs", SC_LANG_CSHARP}, {"sh", SC_LANG_BASH}, {"bash", SC_LANG_BASH},
    {"zsh", SC_LANG_BASH}, {"ksh", SC_LANG_BASH}, {"md", SC_LANG_MARKDOWN},
    {"markdown", SC_LANG_MARKDOWN}, {"yml", SC_LANG_YAML}, {"yaml", SC_LANG_YAML},
    {"json", SC_LANG_JSON}, {"toml", SC_LANG_TOML}, {"txt", SC_LANG_TEXT},
    {"rst", SC_LANG_TEXT},
};

static const struct { const char *name; sc_lang lang; } parse__names[] = {
    {"Rakefile", SC_LANG_RUBY}, {"Gemfile", SC_LANG_RUBY}, {"Vagrantfile", SC_LANG_RUBY},
    {"README", SC_LANG_TEXT}, {"LICENSE", SC_LANG_TEXT}, {"COPYING", SC_LANG_TEXT},
    {".bashrc", SC_LANG_BASH}, {".bash_profile", SC_LANG_BASH}, {".profile", SC_LANG_BASH},
};

static const struct { const char *interp; sc_lang lang; } parse__interps[] = {
    {"python", SC_LANG_PYTHON}, {"pypy", SC_LANG_PYTHON}, {"node", SC_LANG_JAVASCRIPT},
    {"nodejs", SC_LANG_JAVASCRIPT}, {"deno", SC_LANG_TYPESCRIPT}, {"ts-node", SC_LANG_TYPESCRIPT},
    {"bash", SC_LANG_BASH}, {"sh", SC_LANG_BASH}, {"dash", SC_LANG_BASH}, {"zsh", SC_LANG_BASH},
    {"ksh", SC_LANG_BASH}, {"ruby", SC_LANG_RUBY}, {"php", SC_LANG_PHP},
};

/* Language from a "#!" line: the interpreter's base name, or the first
** non-option argument of env, with version digits ignored (python3.11). */
static sc_lang parse__shebang(const char *head, size_t n) {
    if (!head || n < 3 || head[0] != '#' || head[1] != '!') return SC_LANG_UNKNOWN;
    size_t end = 2;
    while (end < n && end < 256 && head[end] != '\n') end++;
    char line[256];
    size_t len = end - 2 < sizeof line - 1 ? end - 2 : sizeof line - 1;
    memcpy(line, head + 2, len);
    line[len] = 0;
    char *save = NULL;
    bool after_env = false;
    for (char *tok = strtok_r(line, " \t\r", &save); tok; tok = strtok_r(NULL, " \t\r", &save)) {
        char *base = strrchr(tok, '/');
        base = base ? base + 1 : tok;
        if (!after_env && !strcmp(base, "env")) { after_env = true; continue; }
        if (after_env && base[0] == '-') continue; /* env -S, env -i */
        if (strchr(base, '=')) continue;            /* env VAR=x */
        size_t bl = strlen(base);
        while (bl > 0 && (base[bl - 1] == '.' || (base[bl - 1] >= '0' && base[bl - 1] <= '9'))) bl--;
        for (size_t i = 0; i < sizeof parse__interps / sizeof parse__interps[0]; i++)
            if (strlen(parse__interps[i].interp) == bl && !strncmp(base, parse__interps[i].interp, bl))
                return parse__interps[i].lang;
        return SC_LANG_UNKNOWN;
    }
    return SC_LANG_UNKNOWN;
}

sc_lang sc_lang_detect(const char *path, const char *head, size_t head_size) {
    if (path) {
        const char *base = strrchr(path, '/');
        base = base ? base + 1 : path;
        for (size_t i = 0; i < sizeof parse__names / sizeof parse__names[0]; i++)
            if (!strcmp(base, parse__names[i].name)) return parse__names[i].lang;
        const char *dot = strrchr(base, '.');
        if (dot && dot != base) {
            for (size_t i = 0; i < sizeof parse__exts / sizeof parse__exts[0]; i++)
                if (!strcasecmp(dot + 1, parse__exts[i].ext)) {
                    /* .h stays C; C++ headers are usually .hpp/.hh. */
                    return parse__exts[i].lang;
                }
        }
    }
    return parse__shebang(head, head_size);
}

bool sc_lang_has_grammar(sc_lang lang) {
    return parse_lang_spec_get(lang)->language != NULL;
}

/* ==== Tables ==== */

#define E(t, k) {t, PARSE_ROLE_ENTITY, SC_ENTITY_KIND_##k}
#define M(t, k) {t, PARSE_ROLE_MAYBE, SC_ENTITY_KIND_##k}
#define D(t) {t, PARSE_ROLE_DECISION, 0}
#define L(t) {t, PARSE_ROLE_LOGICAL, 0}
#define C(t) {t, PARSE_ROLE_COMMENT, 0}
#define A(t) {t, PARSE_ROLE_DECORATOR, 0}
#define S(t) {t, PARSE_ROLE_SCOPE, 0}
#define F(t) {t, PARSE_ROLE_FUNCVAL, 0}
#define W(t) {t, PARSE_ROLE_WRAPPER, 0}
#define END {NULL, 0, 0}

static const parse_rule parse__python[] = {
    E("function_definition", FUNCTION), E("class_definition", CLASS),
    M("assignment", FUNCTION), F("lambda"), W("decorated_definition"), A("decorator"),
    D("if_statement"), D("elif_clause"), D("for_statement"), D("while_statement"),
    D("except_clause"), D("conditional_expression"), D("boolean_operator"),
    D("case_clause"), D("for_in_clause"), D("if_clause"), C("comment"), END,
};

/* JavaScript, TypeScript and TSX share most node types. */
#define JS_COMMON                                                                           \
    E("function_declaration", FUNCTION), E("generator_function_declaration", FUNCTION),   \
    E("method_definition", METHOD), E("class_declaration", CLASS),                        \
    M("variable_declarator", FUNCTION), M("assignment_expression", FUNCTION),             \
    M("pair", FUNCTION), F("arrow_function"), F("function_expression"), F("function"),    \
    F("generator_function"), F("class"), W("export_statement"),                           \
    W("lexical_declaration"), W("variable_declaration"), W("expression_statement"),       \
    A("decorator"), D("if_statement"), D("for_statement"), D("for_in_statement"),         \
    D("while_statement"), D("do_statement"), D("switch_case"), D("catch_clause"),         \
    D("ternary_expression"), L("binary_expression"), C("comment")

static const parse_rule parse__javascript[] = {
    JS_COMMON, M("field_definition", METHOD), END,
};

static const parse_rule parse__typescript[] = {
    JS_COMMON, M("public_field_definition", METHOD), E("abstract_class_declaration", CLASS),
    E("interface_declaration", INTERFACE), E("enum_declaration", ENUM),
    E("internal_module", MODULE), E("module", MODULE), E("function_signature", FUNCTION),
    E("method_signature", METHOD), E("abstract_method_signature", METHOD),
    W("ambient_declaration"), END,
};

static const parse_rule parse__go[] = {
    E("function_declaration", FUNCTION), E("method_declaration", METHOD),
    M("type_spec", STRUCT), E("method_elem", METHOD), W("type_declaration"),
    D("if_statement"), D("for_statement"), D("expression_case"), D("type_case"),
    D("communication_case"), L("binary_expression"), C("comment"), END,
};

static const parse_rule parse__java[] = {
    E("method_declaration", METHOD), E("constructor_declaration", METHOD),
    E("class_declaration", CLASS), E("interface_declaration", INTERFACE),
    E("enum_declaration", ENUM), E("record_declaration", CLASS),
    E("annotation_type_declaration", INTERFACE), A("annotation"), A("marker_annotation"),
    D("if_statement"), D("for_statement"), D("enhanced_for_statement"), D("while_statement"),
    D("do_statement"), D("catch_clause"), D("ternary_expression"), D("switch_label"),
    L("binary_expression"), C("line_comment"), C("block_comment"), END,
};

#define C_COMMON                                                                       \
    E("function_definition", FUNCTION), M("struct_specifier", STRUCT),                \
    M("union_specifier", STRUCT), M("enum_specifier", ENUM), D("if_statement"),       \
    D("for_statement"), D("while_statement"), D("do_statement"), D("case_statement"), \
    D("conditional_expression"), L("binary_expression"), C("comment")

static const parse_rule parse__c[] = {
    C_COMMON, W("type_definition"), M("declaration", FUNCTION), END,
};

static const parse_rule parse__cpp[] = {
    C_COMMON, M("class_specifier", CLASS), E("namespace_definition", MODULE),
    W("template_declaration"), W("type_definition"), M("declaration", FUNCTION),
    M("field_declaration", METHOD),
    D("for_range_loop"), D("catch_clause"), A("attribute_declaration"), END,
};

static const parse_rule parse__rust[] = {
    E("function_item", FUNCTION), E("function_signature_item", FUNCTION),
    E("struct_item", STRUCT), E("union_item", STRUCT), E("enum_item", ENUM),
    E("trait_item", TRAIT), E("mod_item", MODULE), S("impl_item"), A("attribute_item"),
    D("if_expression"), D("for_expression"), D("while_expression"), D("loop_expression"),
    D("match_arm"), L("binary_expression"), C("line_comment"), C("block_comment"), END,
};

static const parse_rule parse__ruby[] = {
    E("method", METHOD), E("singleton_method", METHOD), E("class", CLASS),
    E("module", MODULE), D("if"), D("elsif"), D("unless"), D("while"), D("until"),
    D("for"), D("when"), D("rescue"), D("conditional"), D("if_modifier"),
    D("unless_modifier"), D("while_modifier"), D("until_modifier"), L("binary"),
    C("comment"), END,
};

static const parse_rule parse__php[] = {
    E("function_definition", FUNCTION), E("method_declaration", METHOD),
    E("class_declaration", CLASS), E("interface_declaration", INTERFACE),
    E("trait_declaration", TRAIT), E("enum_declaration", ENUM),
    E("namespace_definition", MODULE), A("attribute_list"), D("if_statement"),
    D("else_if_clause"), D("for_statement"), D("foreach_statement"), D("while_statement"),
    D("do_statement"), D("case_statement"), D("catch_clause"),
    D("conditional_expression"), L("binary_expression"), C("comment"), END,
};

static const parse_rule parse__csharp[] = {
    E("method_declaration", METHOD), E("constructor_declaration", METHOD),
    E("local_function_statement", FUNCTION), E("class_declaration", CLASS),
    E("record_declaration", CLASS), E("struct_declaration", STRUCT),
    E("interface_declaration", INTERFACE), E("enum_declaration", ENUM),
    E("namespace_declaration", MODULE), A("attribute_list"), D("if_statement"),
    D("for_statement"), D("foreach_statement"), D("while_statement"), D("do_statement"),
    D("switch_section"), D("catch_clause"), D("conditional_expression"),
    L("binary_expression"), C("comment"), END,
};

static const parse_rule parse__bash[] = {
    E("function_definition", FUNCTION), D("if_statement"), D("elif_clause"),
    D("for_statement"), D("c_style_for_statement"), D("while_statement"), D("case_item"),
    L("list"), C("comment"), END,
};

static const parse_lang_spec parse__specs[SC_LANG_COUNT] = {
    [SC_LANG_PYTHON] = {SC_LANG_PYTHON, tree_sitter_python, parse__python},
    [SC_LANG_JAVASCRIPT] = {SC_LANG_JAVASCRIPT, tree_sitter_javascript, parse__javascript},
    [SC_LANG_TYPESCRIPT] = {SC_LANG_TYPESCRIPT, tree_sitter_typescript, parse__typescript},
    [SC_LANG_TSX] = {SC_LANG_TSX, tree_sitter_tsx, parse__typescript},
    [SC_LANG_GO] = {SC_LANG_GO, tree_sitter_go, parse__go},
    [SC_LANG_JAVA] = {SC_LANG_JAVA, tree_sitter_java, parse__java},
    [SC_LANG_C] = {SC_LANG_C, tree_sitter_c, parse__c},
    [SC_LANG_CPP] = {SC_LANG_CPP, tree_sitter_cpp, parse__cpp},
    [SC_LANG_RUST] = {SC_LANG_RUST, tree_sitter_rust, parse__rust},
    [SC_LANG_RUBY] = {SC_LANG_RUBY, tree_sitter_ruby, parse__ruby},
    [SC_LANG_PHP] = {SC_LANG_PHP, tree_sitter_php, parse__php},
    [SC_LANG_CSHARP] = {SC_LANG_CSHARP, tree_sitter_c_sharp, parse__csharp},
    [SC_LANG_BASH] = {SC_LANG_BASH, tree_sitter_bash, parse__bash},
};

static const parse_lang_spec parse__no_grammar = {SC_LANG_TEXT, NULL, NULL};

const parse_lang_spec *parse_lang_spec_get(sc_lang lang) {
    if ((unsigned)lang >= SC_LANG_COUNT || !parse__specs[lang].language) return &parse__no_grammar;
    return &parse__specs[lang];
}
