/*
** test_parse: the parse module against golden outputs. Every fixture in
** tests/fixtures/parse/ is parsed and each expected entity is checked
** field by field (kind, qualified name, lines, doc, params, return type,
** decorators, parent, complexity, exact signature and byte range; the
** bytes are also checked to fall on the entity's first and last lines);
** then language detection, chunks,
** syntax errors, hostile input (empty, invalid UTF-8, binary, 10 MB
** one-line) and the doc/code split used by `semcode pairs`.
** Run from the repository root (make test does).
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <dirent.h>

#include <cmocka.h>

#include "parse/parse_int.h"
#include "semcode/parse.h"
#include "testutil.h"

#define FIXTURES "tests/fixtures/parse/"

/* ==== Helpers ==== */

/* Parse one fixture with default options (+ body). */
static sc_parse_result *parse_fixture(const char *name, bool body) {
    char path[512];
    snprintf(path, sizeof path, FIXTURES "%s", name);
    size_t n = 0;
    char *src = tu_read_file(path, &n);
    assert_non_null(src);
    sc_parser *p = NULL;
    assert_int_equal(sc_parser_new(&p, NULL), SC_OK);
    sc_parse_options opt = sc_parse_options_default();
    opt.with_body = body;
    sc_parse_result *r = NULL;
    assert_int_equal(sc_parser_parse(p, path, src, n, &opt, &r), SC_OK);
    sc_parser_free(p);
    free(src);
    return r;
}

static sc_parse_result *parse_mem(const char *path, const void *src, size_t n, const sc_parse_options *opt) {
    sc_parser *p = NULL;
    assert_int_equal(sc_parser_new(&p, NULL), SC_OK);
    sc_parse_result *r = NULL;
    assert_int_equal(sc_parser_parse(p, path, src, n, opt, &r), SC_OK);
    sc_parser_free(p);
    return r;
}

/* ==== Golden entities ==== */

typedef struct golden {
    const char *file;       /* fixture name */
    const char *kind;       /* sc_entity_kind_name */
    const char *qname;      /* qualified name */
    uint32_t start, end;    /* lines */
    const char *doc;        /* cleaned doc or NULL */
    const char *params;     /* "name:type,name" */
    const char *ret;        /* return type or NULL */
    const char *decorators; /* joined with '|' */
    const char *parent;     /* parent's qualified name or NULL */
    uint32_t complexity;    /* cyclomatic */
    const char *signature;  /* exact signature */
    uint32_t start_byte, end_byte; /* exact byte range, end exclusive */
} golden;

static const golden goldens[] = {
    {"Sample.cs", "module", "Demo.App", 3, 36, NULL, "", NULL, "", NULL, 1, "namespace Demo.App", 15, 778},
    {"Sample.cs", "class", "Demo.App.Sample", 6, 23, "<summary>A sample class.</summary>", "", NULL, "[Serializable]", "Demo.App", 1, "[Serializable]\n    public class Sample : IDisposable", 83, 526},
    {"Sample.cs", "method", "Demo.App.Sample.Sample", 10, 10, "<summary>Create it.</summary>", "n:int", NULL, "", "Demo.App.Sample", 1, "public Sample(int n)", 192, 223},
    {"Sample.cs", "method", "Demo.App.Sample.Add", 15, 20, "<summary>Sum with another.</summary>", "other:int,label:string", "int", "[Obsolete(\"use Add2\")]", "Demo.App.Sample", 3, "[Obsolete(\"use Add2\")]\n        public int Add(int other, string label = \"x\")", 313, 485},
    {"Sample.cs", "method", "Demo.App.Sample.Dispose", 22, 22, NULL, "", "void", "", "Demo.App.Sample", 1, "public void Dispose()", 495, 520},
    {"Sample.cs", "interface", "Demo.App.IThing", 26, 29, "<summary>A contract.</summary>", "", NULL, "", "Demo.App", 1, "public interface IThing", 571, 625},
    {"Sample.cs", "method", "Demo.App.IThing.Do", 28, 28, NULL, "", "void", "", "Demo.App.IThing", 1, "void Do();", 609, 619},
    {"Sample.cs", "struct", "Demo.App.Pair", 32, 32, "<summary>A value type.</summary>", "", NULL, "", "Demo.App", 1, "public struct Pair", 672, 708},
    {"Sample.cs", "enum", "Demo.App.Mode", 35, 35, "<summary>Modes.</summary>", "", NULL, "", "Demo.App", 1, "public enum Mode", 748, 776},
    {"Sample.java", "class", "Sample", 8, 45, "A sample class.", "", NULL, "@Deprecated", NULL, 1, "@Deprecated\npublic class Sample<T> extends Base implements Runnable", 66, 848},
    {"Sample.java", "method", "Sample.Sample", 18, 20, "Creates a sample.\n@param count initial count", "count:int", NULL, "", "Sample", 1, "public Sample(int count)", 262, 322},
    {"Sample.java", "method", "Sample.run", 23, 30, "Runs it.", "", "void", "@Override", "Sample", 4, "@Override\n    public void run()", 348, 531},
    {"Sample.java", "method", "Sample.add", 33, 33, "Overload with one argument.", "a:int", "int", "", "Sample", 1, "public int add(int a)", 576, 611},
    {"Sample.java", "method", "Sample.add", 36, 36, "Overload with two arguments.", "a:int,b:int", "int", "", "Sample", 1, "public int add(int a, int b)", 657, 703},
    {"Sample.java", "class", "Sample.Inner", 39, 41, "A nested class.", "", NULL, "", "Sample", 1, "static class Inner", 736, 804},
    {"Sample.java", "method", "Sample.Inner.name", 40, 40, NULL, "", "String", "", "Sample.Inner", 1, "String name()", 765, 798},
    {"Sample.java", "enum", "Sample.Kind", 44, 44, "Kinds.", "", NULL, "", "Sample", 1, "enum Kind", 828, 846},
    {"Sample.java", "interface", "Greeter", 48, 50, "A contract.", "", NULL, "", NULL, 1, "interface Greeter", 869, 920},
    {"Sample.java", "method", "Greeter.greet", 49, 49, NULL, "who:String", "String", "", "Greeter", 1, "String greet(String who);", 893, 918},
    {"broken.py", "function", "ok", 1, 2, NULL, "a", NULL, "", NULL, 1, "def ok(a)", 0, 23},
    {"broken.py", "function", "broken", 4, 5, NULL, "", NULL, "", NULL, 1, "def broken(", 25, 46},
    {"broken.py", "class", "Fine", 7, 9, NULL, "", NULL, "", NULL, 1, "class Fine", 48, 98},
    {"broken.py", "method", "Fine.method", 8, 9, NULL, "self", NULL, "", "Fine", 1, "def method(self)", 64, 98},
    {"noext_script", "function", "main", 3, 5, "Entry point.", "", NULL, "", NULL, 1, "def main()", 71, 118},
    {"sample.c", "function", "add_all", 4, 4, "Forward declaration with a doc comment.", "xs:const int *,n:size_t", "int", "", NULL, 1, "int add_all(const int *xs, size_t n);", 67, 104},
    {"sample.c", "struct", "point", 10, 13, "A point in the plane.", "", NULL, "", NULL, 1, "struct point", 213, 281},
    {"sample.c", "enum", "color", 16, 16, "Colours, in a typedef.", "", NULL, "", NULL, 1, "typedef enum", 313, 347},
    {"sample.c", "struct", "size", 18, 20, NULL, "", NULL, "", NULL, 1, "typedef struct", 349, 387},
    {"sample.c", "function", "add", 25, 27, "Add two ints.", "a:int,b:int", "int", "", NULL, 1, "static int add(int a, int b)", 414, 464},
    {"sample.c", "function", "find", 30, 35, "Find the first occurrence of c in s.", "s:const char *,c:char", "char *", "", NULL, 4, "const char *find(const char *s, char c)", 506, 622},
    {"sample.c", "function", "main", 37, 43, NULL, "", "int", "", NULL, 3, "int main(void)", 624, 741},
    {"sample.cpp", "module", "geo", 3, 33, NULL, "", NULL, "", NULL, 1, "namespace geo", 19, 508},
    {"sample.cpp", "class", "geo::Shape", 6, 11, "A shape base class.", "", NULL, "", "geo", 1, "class Shape", 60, 179},
    {"sample.cpp", "method", "geo::Shape::~Shape", 8, 8, NULL, "", NULL, "", "geo::Shape", 1, "virtual ~Shape() = default;", 86, 113},
    {"sample.cpp", "method", "geo::Shape::area", 10, 10, "Area of the shape.", "", "double", "", "geo::Shape", 1, "virtual double area() const = 0;", 145, 177},
    {"sample.cpp", "class", "geo::Circle", 14, 25, "A circle.", "", NULL, "", "geo", 1, "class Circle : public Shape", 199, 410},
    {"sample.cpp", "method", "geo::Circle::Circle", 16, 16, NULL, "r:double", NULL, "", "geo::Circle", 1, "explicit Circle(double r) : r_(r)", 241, 277},
    {"sample.cpp", "method", "geo::Circle::area", 17, 17, NULL, "", "double", "", "geo::Circle", 1, "double area() const override", 282, 340},
    {"sample.cpp", "struct", "geo::Circle::Nested", 19, 21, NULL, "", NULL, "", "geo::Circle", 1, "struct Nested", 346, 382},
    {"sample.cpp", "function", "geo::scale", 28, 31, "Scale a value.", "v:T,k:T", "T", "", "geo", 2, "T scale(T v, T k)", 432, 505},
    {"sample.cpp", "function", "geo_count", 36, 41, "Out-of-line definition.", "name:const std::string &,n:int", "int", "", NULL, 3, "int geo_count(const std::string &name, int n = 3)", 555, 698},
    {"sample.go", "interface", "shapes.Shape", 7, 10, "Shape is anything with an area.", "", NULL, "", NULL, 1, "type Shape interface", 111, 178},
    {"sample.go", "method", "shapes.Shape.Area", 9, 9, "Area returns the area.", "", "float64", "", "shapes.Shape", 1, "Area() float64", 162, 176},
    {"sample.go", "struct", "shapes.Circle", 13, 15, "Circle is a round shape.", "", NULL, "", NULL, 1, "type Circle struct", 208, 241},
    {"sample.go", "method", "shapes.(*Circle).Area", 18, 20, "Area of the circle.", "", "float64", "", NULL, 1, "func (c *Circle) Area() float64", 266, 329},
    {"sample.go", "method", "shapes.Circle.String", 23, 23, "String names the circle.", "", "string", "", NULL, 1, "func (c Circle) String() string", 359, 410},
    {"sample.go", "function", "shapes.Max", 26, 31, "Max returns the larger of a and b.", "a:int,b:int", "int", "", NULL, 3, "func Max(a, b int) int", 450, 522},
    {"sample.js", "function", "greet", 8, 13, "Greets someone.\n@param {string} name who to greet", "name,greeting", NULL, "", NULL, 3, "function greet(name, greeting = \"hi\")", 120, 254},
    {"sample.js", "function", "double", 16, 16, "Arrow function assigned to a name.", "x", NULL, "", NULL, 1, "const double = (x) =>", 298, 326},
    {"sample.js", "function", "triple", 19, 21, "Function expression assigned to a name.", "x", NULL, "", NULL, 1, "const triple = function (x)", 371, 419},
    {"sample.js", "class", "Counter", 24, 37, "A class with methods.", "", NULL, "", NULL, 1, "class Counter extends Base", 450, 684},
    {"sample.js", "method", "Counter.constructor", 25, 28, NULL, "start", NULL, "", "Counter", 1, "constructor(start)", 481, 538},
    {"sample.js", "method", "Counter.increment", 31, 34, "Increment by one.", "", NULL, "", "Counter", 2, "increment()", 569, 641},
    {"sample.js", "method", "Counter.create", 36, 36, NULL, "", NULL, "", "Counter", 1, "static create = () =>", 645, 681},
    {"sample.js", "function", "module.exports.handler", 39, 41, NULL, "event", NULL, "", NULL, 1, "module.exports.handler = function (event)", 686, 748},
    {"sample.php", "module", "App\\Models", 2, 2, NULL, "", NULL, "", NULL, 1, "namespace App\\Models;", 6, 27},
    {"sample.php", "class", "User", 7, 20, "A user model.", "", NULL, "#[Entity]", NULL, 1, "#[Entity]\nclass User extends Model implements JsonSerializable", 54, 360},
    {"sample.php", "method", "User.fullName", 13, 19, "Full name of the user.", "$sep:string", "string", "", "User", 3, "public function fullName(string $sep = \" \"): string", 169, 358},
    {"sample.php", "interface", "Named", 23, 26, "Named things.", "", NULL, "", NULL, 1, "interface Named", 383, 438},
    {"sample.php", "method", "Named.name", 25, 25, NULL, "", "string", "", "Named", 1, "public function name(): string;", 405, 436},
    {"sample.php", "trait", "HasTimestamps", 29, 32, "Timestamps.", "", NULL, "", NULL, 1, "trait HasTimestamps", 459, 519},
    {"sample.php", "method", "HasTimestamps.touch", 31, 31, NULL, "", "void", "", "HasTimestamps", 1, "public function touch(): void", 485, 517},
    {"sample.php", "enum", "Suit", 35, 38, "Suits.", "", NULL, "", NULL, 1, "enum Suit", 535, 565},
    {"sample.php", "function", "helper", 41, 45, "A plain function.", "$a:int,$b:?array", "int", "", NULL, 3, "function helper(int $a, ?array $b = null): int", 588, 696},
    {"sample.py", "function", "add", 9, 18, "Add two numbers.\n\nReturns their sum.", "a:int,b:int,*rest,**opts", "int", "", NULL, 4, "def add(a: int, b: int = 2, *rest, **opts) -> int", 130, 334},
    {"sample.py", "class", "Shape", 21, 40, "A geometric shape.", "", NULL, "", NULL, 1, "class Shape", 337, 802},
    {"sample.py", "class", "Shape.Meta", 24, 28, "Nested class.", "", NULL, "", "Shape", 1, "class Meta", 384, 478},
    {"sample.py", "method", "Shape.Meta.describe", 27, 28, NULL, "self", NULL, "", "Shape.Meta", 1, "def describe(self)", 433, 478},
    {"sample.py", "method", "Shape.unit", 30, 34, "Make a unit shape.", "kind:str", "\"Shape\"", "@staticmethod|@functools.lru_cache(maxsize=None)", "Shape", 2, "def unit(kind: str) -> \"Shape\"", 484, 646},
    {"sample.py", "method", "Shape.area", 36, 40, NULL, "self", NULL, "", "Shape", 1, "def area(self)", 652, 802},
    {"sample.py", "function", "Shape.area.helper", 38, 39, "Comment right above a nested def: taken as its doc.", "x", NULL, "", "Shape.area", 1, "def helper(x)", 738, 777},
    {"sample.py", "function", "square", 45, 45, NULL, "side", NULL, "", NULL, 1, "square = lambda side", 874, 907},
    {"sample.rb", "module", "Helpers", 2, 22, "A module of helpers.", "", NULL, "", NULL, 1, "module Helpers", 23, 383},
    {"sample.rb", "class", "Helpers.Greeter", 4, 21, "A greeter class.", "", NULL, "", "Helpers", 1, "class Greeter", 61, 379},
    {"sample.rb", "method", "Helpers.Greeter.initialize", 6, 8, "Create a greeter.", "name,greeting", NULL, "", "Helpers.Greeter", 1, "def initialize(name, greeting = \"hi\")", 103, 167},
    {"sample.rb", "method", "Helpers.Greeter.greet", 11, 15, "Greet someone.", "times,rest,loud", NULL, "", "Helpers.Greeter", 2, "def greet(times, *rest, loud: false)", 194, 296},
    {"sample.rb", "method", "Helpers.Greeter.build", 18, 20, "Class-level factory.", "name", NULL, "", "Helpers.Greeter", 1, "def self.build(name)", 329, 373},
    {"sample.rb", "function", "top_level", 25, 27, "Top-level function.", "x", NULL, "", NULL, 2, "def top_level(x)", 407, 444},
    {"sample.rs", "struct", "Point", 5, 9, "A point.", "", NULL, "#[derive(Debug, Clone)]", NULL, 1, "pub struct Point", 44, 112},
    {"sample.rs", "enum", "Dir", 12, 15, "Directions.", "", NULL, "", NULL, 1, "pub enum Dir", 130, 164},
    {"sample.rs", "trait", "Movable", 18, 21, "Things that move.", "", NULL, "", NULL, 1, "pub trait Movable", 188, 275},
    {"sample.rs", "method", "Movable::shift", 20, 20, "Move by delta.", "&mut self,dx:i32,dy:i32", NULL, "", "Movable", 1, "fn shift(&mut self, dx: i32, dy: i32);", 235, 273},
    {"sample.rs", "method", "Point::new", 25, 27, "Create a point.", "x:i32,y:i32", "Self", "", NULL, 1, "pub fn new(x: i32, y: i32) -> Self", 318, 383},
    {"sample.rs", "method", "Point::norm", 29, 31, NULL, "&self", "i32", "", NULL, 3, "fn norm(&self) -> i32", 389, 485},
    {"sample.rs", "method", "Point::shift", 35, 38, NULL, "&mut self,dx:i32,dy:i32", NULL, "", NULL, 1, "fn shift(&mut self, dx: i32, dy: i32)", 518, 607},
    {"sample.rs", "module", "inner", 42, 50, "Inner module.", "", NULL, "", NULL, 1, "mod inner", 629, 772},
    {"sample.rs", "function", "inner::helper", 44, 49, "Helper in a module.", "", "u8", "", "inner", 3, "pub fn helper() -> u8", 673, 770},
    {"sample.sh", "function", "log", 6, 8, "Print a log line.", "", NULL, "", NULL, 1, "log()", 76, 107},
    {"sample.sh", "function", "build", 11, 15, "Build the project.", "", NULL, "", NULL, 3, "function build", 130, 209},
    {"sample.ts", "interface", "User", 4, 7, "Shape of a user.", "", NULL, "", NULL, 1, "interface User", 58, 115},
    {"sample.ts", "method", "User.name", 6, 6, NULL, "", "string", "", "User", 1, "name(): string", 98, 112},
    {"sample.ts", "enum", "Color", 10, 13, "Colours.", "", NULL, "", NULL, 1, "enum Color", 133, 163},
    {"sample.ts", "module", "Geometry", 15, 19, NULL, "", NULL, "", NULL, 1, "namespace Geometry", 165, 264},
    {"sample.ts", "function", "Geometry.area", 16, 18, NULL, "w:number,h:number", "number", "", "Geometry", 1, "function area(w: number, h: number): number", 188, 262},
    {"sample.ts", "function", "parse", 22, 22, "Overloads of parse.", "x:string", "number", "", NULL, 1, "function parse(x: string): number;", 293, 327},
    {"sample.ts", "function", "parse", 23, 23, NULL, "x:number", "number", "", NULL, 1, "function parse(x: number): number;", 328, 362},
    {"sample.ts", "function", "parse", 24, 26, NULL, "x:any", "number", "", NULL, 2, "function parse(x: any): number", 363, 451},
    {"sample.ts", "class", "Service", 28, 42, NULL, "", NULL, "@Component({ selector: \"app\" })", NULL, 1, "class Service<T> implements User", 453, 761},
    {"sample.ts", "method", "Service.fetch", 33, 37, "Fetch by id.", "id:number,opts:Options", "Promise<T>", "@Memo()", "Service", 3, "async fetch(id: number, opts?: Options): Promise<T>", 562, 717},
    {"sample.ts", "method", "Service.name", 39, 41, NULL, "", "string", "", "Service", 1, "name(): string", 721, 759},
    {"sample.ts", "function", "compute", 44, 44, NULL, "a:number,b:number", "Promise<number>", "", NULL, 1, "export const compute = async (a: number, b: number): Promise<number> =>", 763, 841},
    {"sample.tsx", "interface", "ButtonProps", 4, 6, "Props of the button.", "", NULL, "", NULL, 1, "interface ButtonProps", 56, 98},
    {"sample.tsx", "function", "Button", 9, 11, "A button component.", "{ label }:ButtonProps", "JSX.Element", "", NULL, 1, "function Button({ label }: ButtonProps): JSX.Element", 127, 241},
    {"sample.tsx", "function", "Card", 14, 16, "Arrow component.", "props:{ title: string }", NULL, "", NULL, 2, "export const Card = (props: { title: string }) =>", 267, 377},
};

static void check_str(const char *what, const char *qname, const char *want, const char *got) {
    if (!want && !got) return;
    if (!want || !got || strcmp(want, got) != 0) {
        print_error("%s of %s: want %s%s%s, got %s%s%s\n", what, qname, want ? "'" : "", want ? want : "NULL",
                    want ? "'" : "", got ? "'" : "", got ? got : "NULL", got ? "'" : "");
        fail();
    }
}

/* 1-based line of byte offset at in src. */
static uint32_t line_of(const char *src, uint32_t at) {
    uint32_t line = 1;
    for (uint32_t i = 0; i < at; i++) line += src[i] == '\n';
    return line;
}

static void check_golden(const sc_parse_result *r, const golden *g, const char *src, size_t n_src) {
    /* the table itself: its bytes lie inside the file, on its lines */
    assert_true(g->start_byte < g->end_byte && g->end_byte <= n_src);
    assert_int_equal(line_of(src, g->start_byte), g->start);
    assert_int_equal(line_of(src, g->end_byte - 1), g->end);
    const sc_entity *e = NULL;
    for (uint32_t i = 0; i < r->n_entities; i++) {
        const sc_entity *c = &r->entities[i];
        if (c->qualified_name && !strcmp(c->qualified_name, g->qname) && c->start_line == g->start) {
            e = c;
            break;
        }
    }
    if (!e) {
        print_error("%s: no entity %s at line %u\n", g->file, g->qname, g->start);
        fail();
    }
    check_str("kind", g->qname, g->kind, sc_entity_kind_name(e->kind));
    assert_int_equal(e->end_line, g->end);
    check_str("doc", g->qname, g->doc, e->doc);
    char buf[1024] = "";
    for (uint32_t i = 0; i < e->n_params; i++) {
        size_t l = strlen(buf);
        snprintf(buf + l, sizeof buf - l, "%s%s%s%s", i ? "," : "", e->params[i].name ? e->params[i].name : "",
                 e->params[i].type ? ":" : "", e->params[i].type ? e->params[i].type : "");
    }
    check_str("params", g->qname, g->params, buf);
    check_str("return_type", g->qname, g->ret, e->return_type);
    buf[0] = 0;
    for (uint32_t i = 0; i < e->n_decorators; i++) {
        size_t l = strlen(buf);
        snprintf(buf + l, sizeof buf - l, "%s%s", i ? "|" : "", e->decorators[i]);
    }
    check_str("decorators", g->qname, g->decorators, buf);
    check_str("parent", g->qname, g->parent, e->parent >= 0 ? r->entities[e->parent].qualified_name : NULL);
    if (e->complexity != g->complexity) {
        print_error("complexity of %s: want %u, got %u\n", g->qname, g->complexity, e->complexity);
        fail();
    }
    check_str("signature", g->qname, g->signature, e->signature);
    if (e->start_byte != g->start_byte || e->end_byte != g->end_byte) {
        print_error("bytes of %s: want [%u, %u), got [%llu, %llu)\n", g->qname, g->start_byte, g->end_byte,
                    (unsigned long long)e->start_byte, (unsigned long long)e->end_byte);
        fail();
    }
}

static void test_golden_entities(void **state) {
    (void)state;
    size_t n = sizeof goldens / sizeof goldens[0];
    size_t i = 0;
    while (i < n) {
        const char *file = goldens[i].file;
        sc_parse_result *r = parse_fixture(file, false);
        char path[512];
        snprintf(path, sizeof path, FIXTURES "%s", file);
        size_t n_src = 0;
        char *src = tu_read_file(path, &n_src);
        assert_non_null(src);
        size_t n_expected = 0;
        for (; i < n && !strcmp(goldens[i].file, file); i++, n_expected++) check_golden(r, &goldens[i], src, n_src);
        free(src);
        /* no unexpected entities either */
        size_t n_real = 0;
        for (uint32_t k = 0; k < r->n_entities; k++) n_real += r->entities[k].kind != SC_ENTITY_KIND_CHUNK;
        if (n_real != n_expected) {
            print_error("%s: %zu entities, golden has %zu\n", file, n_real, n_expected);
            fail();
        }
        sc_parse_result_free(r);
    }
}

/* Every fixture language is covered and every entity kind appears. */
static void test_golden_coverage(void **state) {
    (void)state;
    bool kinds[SC_ENTITY_KIND_COUNT] = {0};
    for (size_t i = 0; i < sizeof goldens / sizeof goldens[0]; i++)
        for (int k = 0; k < SC_ENTITY_KIND_COUNT; k++)
            if (!strcmp(goldens[i].kind, sc_entity_kind_name((sc_entity_kind)k))) kinds[k] = true;
    for (int k = 0; k < SC_ENTITY_KIND_CHUNK; k++) {
        if (!kinds[k]) print_error("no golden entity of kind %s\n", sc_entity_kind_name((sc_entity_kind)k));
        assert_true(kinds[k]);
    }
    static const char *const files[] = {"sample.py", "sample.js", "sample.ts", "sample.tsx", "sample.go",
                                        "Sample.java", "sample.c", "sample.cpp", "sample.rs", "sample.rb",
                                        "sample.php", "Sample.cs", "sample.sh"};
    for (size_t f = 0; f < sizeof files / sizeof files[0]; f++) {
        sc_parse_result *r = parse_fixture(files[f], false);
        assert_true(sc_lang_has_grammar(r->lang));
        assert_int_equal(r->n_errors, 0);
        sc_parse_result_free(r);
    }
}

/* sc_parser_new follows the error convention of common.h: *errmsg NULL
** on success, a message naming the mistake on misuse. */
static void test_parser_new_errmsg(void **state) {
    (void)state;
    char *msg = (char *)"untouched";
    sc_parser *p = NULL;
    assert_int_equal(sc_parser_new(&p, &msg), SC_OK);
    assert_null(msg);
    sc_parser_free(p);
    assert_int_equal(sc_parser_new(NULL, &msg), SC_MISUSE);
    assert_non_null(msg);
    assert_non_null(strstr(msg, "NULL out"));
    sc_free(msg);
}

/* ==== Languages ==== */

static void test_lang_detect(void **state) {
    (void)state;
    assert_int_equal(sc_lang_detect("a/b/x.py", NULL, 0), SC_LANG_PYTHON);
    assert_int_equal(sc_lang_detect("x.tsx", NULL, 0), SC_LANG_TSX);
    assert_int_equal(sc_lang_detect("x.TS", NULL, 0), SC_LANG_TYPESCRIPT);
    assert_int_equal(sc_lang_detect("x.hpp", NULL, 0), SC_LANG_CPP);
    assert_int_equal(sc_lang_detect("x.h", NULL, 0), SC_LANG_C);
    assert_int_equal(sc_lang_detect("Foo.cs", NULL, 0), SC_LANG_CSHARP);
    assert_int_equal(sc_lang_detect("Rakefile", NULL, 0), SC_LANG_RUBY);
    assert_int_equal(sc_lang_detect("README.md", NULL, 0), SC_LANG_MARKDOWN);
    assert_int_equal(sc_lang_detect(".profile", NULL, 0), SC_LANG_BASH);
    const char *py = "#!/usr/bin/env python3.11\nprint(1)\n";
    assert_int_equal(sc_lang_detect("bin/tool", py, strlen(py)), SC_LANG_PYTHON);
    const char *sh = "#!/bin/sh -e\n";
    assert_int_equal(sc_lang_detect("configure", sh, strlen(sh)), SC_LANG_BASH);
    const char *node = "#!/usr/bin/env -S node --harmony\n";
    assert_int_equal(sc_lang_detect("cli", node, strlen(node)), SC_LANG_JAVASCRIPT);
    const char *nope = "#!/usr/bin/perl\n";
    assert_int_equal(sc_lang_detect("tool", nope, strlen(nope)), SC_LANG_UNKNOWN);
    assert_int_equal(sc_lang_detect("tool", "#!", 2), SC_LANG_UNKNOWN);
    assert_int_equal(sc_lang_detect(NULL, NULL, 0), SC_LANG_UNKNOWN);
    /* extension beats shebang */
    assert_int_equal(sc_lang_detect("x.rb", py, strlen(py)), SC_LANG_RUBY);
    for (int l = 1; l < SC_LANG_COUNT; l++)
        assert_int_equal(sc_lang_from_name(sc_lang_name((sc_lang)l)), l);
    assert_int_equal(sc_lang_from_name("c#"), SC_LANG_CSHARP);
    assert_int_equal(sc_lang_from_name("klingon"), SC_LANG_UNKNOWN);
    assert_string_equal(sc_lang_name((sc_lang)999), "unknown");
}

static void test_shebang_file(void **state) {
    (void)state;
    sc_parse_result *r = parse_fixture("noext_script", false);
    assert_int_equal(r->lang, SC_LANG_PYTHON);
    sc_parse_result_free(r);
}

/* ==== Chunks ==== */

static void test_chunks_no_grammar(void **state) {
    (void)state;
    const char *text = "l1 aaaaaaaaaa\nl2 aaaaaaaaaa\nl3 aaaaaaaaaa\nl4 aaaaaaaaaa\nl5 aaaaaaaaaa\n"
                       "l6 aaaaaaaaaa\nl7 aaaaaaaaaa\nl8 aaaaaaaaaa\nl9 aaaaaaaaaa\nl10 aaaaaaaaa\n";
    sc_parse_options opt = sc_parse_options_default();
    opt.chunk_lines = 4;
    opt.chunk_overlap = 1;
    opt.with_body = true;
    sc_parse_result *r = parse_mem("notes.txt", text, strlen(text), &opt);
    assert_int_equal(r->lang, SC_LANG_TEXT);
    assert_int_equal(r->n_lines, 10);
    /* windows 1-4, 4-7, 7-10 */
    assert_int_equal(r->n_entities, 3);
    uint32_t want[3][2] = {{1, 4}, {4, 7}, {7, 10}};
    for (int i = 0; i < 3; i++) {
        assert_int_equal(r->entities[i].kind, SC_ENTITY_KIND_CHUNK);
        assert_int_equal(r->entities[i].start_line, want[i][0]);
        assert_int_equal(r->entities[i].end_line, want[i][1]);
    }
    assert_string_equal(r->entities[0].body, "l1 aaaaaaaaaa\nl2 aaaaaaaaaa\nl3 aaaaaaaaaa\nl4 aaaaaaaaaa\n");
    assert_string_equal(r->entities[2].body + strlen(r->entities[2].body) - 14, "l10 aaaaaaaaa\n");
    sc_parse_result_free(r);

    r = parse_fixture("notes.md", false);
    assert_int_equal(r->lang, SC_LANG_MARKDOWN);
    assert_true(r->n_entities >= 1);
    assert_int_equal(r->entities[0].start_line, 1);
    assert_int_equal(r->entities[r->n_entities - 1].end_line, r->n_lines);
    sc_parse_result_free(r);
}

/* Code outside entities is chunked, code inside is not. */
static void test_chunks_outside_entities(void **state) {
    (void)state;
    sc_parse_result *r = parse_fixture("sample.py", false);
    uint32_t n_chunks = 0;
    for (uint32_t i = 0; i < r->n_entities; i++) {
        const sc_entity *e = &r->entities[i];
        if (e->kind != SC_ENTITY_KIND_CHUNK) continue;
        n_chunks++;
        for (uint32_t k = 0; k < r->n_entities; k++) {
            const sc_entity *d = &r->entities[k];
            if (d->kind == SC_ENTITY_KIND_CHUNK || d->parent >= 0) continue;
            /* no chunk starts inside a top-level entity */
            assert_false(e->start_line > d->start_line && e->start_line <= d->end_line);
        }
    }
    assert_true(n_chunks >= 2); /* module header, and the __main__ block */
    const sc_entity *last = &r->entities[r->n_entities - 1];
    assert_int_equal(last->kind, SC_ENTITY_KIND_CHUNK);
    assert_int_equal(last->end_line, r->n_lines);
    sc_parse_result_free(r);

    sc_parse_options opt = sc_parse_options_default();
    opt.with_chunks = false;
    const char *src = "x = 1\ny = 2\nprint(x + y + 1234567)\n";
    r = parse_mem("a.py", src, strlen(src), &opt);
    assert_int_equal(r->n_entities, 0);
    sc_parse_result_free(r);
}

/* ==== Errors and hostile input ==== */

static void test_syntax_errors(void **state) {
    (void)state;
    sc_parse_result *r = parse_fixture("broken.py", false);
    assert_true(r->n_errors > 0);
    bool ok = false, method = false;
    for (uint32_t i = 0; i < r->n_entities; i++) {
        if (r->entities[i].qualified_name && !strcmp(r->entities[i].qualified_name, "ok")) ok = true;
        if (r->entities[i].qualified_name && !strcmp(r->entities[i].qualified_name, "Fine.method")) method = true;
    }
    assert_true(ok && method);
    sc_parse_result_free(r);

    /* Broken C++ from the fuzzer: error recovery leaves a parameter with
    ** neither name nor type; the extractor must drop it, not emit {NULL, NULL}. */
    sc_parse_options opt = sc_parse_options_default();
    const char cpp[] = "class Shape {\n public:\n  virtual ~Shape(=  9default;\n};\n";
    r = parse_mem("shape.cpp", cpp, sizeof cpp - 1, &opt);
    bool dtor = false;
    for (uint32_t i = 0; i < r->n_entities; i++) {
        const sc_entity *e = &r->entities[i];
        if (e->name && !strcmp(e->name, "~Shape")) dtor = true;
        for (uint32_t k = 0; k < e->n_params; k++) assert_true(e->params[k].name || e->params[k].type);
    }
    assert_true(dtor);
    sc_parse_result_free(r);
}

static void test_hostile_input(void **state) {
    (void)state;
    sc_parse_options opt = sc_parse_options_default();
    sc_parse_result *r = parse_mem("empty.py", "", 0, &opt);
    assert_int_equal(r->skipped, SC_SKIP_EMPTY);
    assert_int_equal(r->n_entities, 0);
    sc_parse_result_free(r);
    r = parse_mem("blank.py", " \n\t\n", 4, &opt);
    assert_int_equal(r->skipped, SC_SKIP_EMPTY);
    sc_parse_result_free(r);
    r = parse_mem(NULL, NULL, 0, &opt);
    assert_int_equal(r->skipped, SC_SKIP_EMPTY);
    sc_parse_result_free(r);

    const char bin[] = "\x7f" "ELF\x02\x01\x01\0\0\0\0def f(): pass\n";
    r = parse_mem("lib.py", bin, sizeof bin - 1, &opt);
    assert_int_equal(r->skipped, SC_SKIP_BINARY);
    sc_parse_result_free(r);

    /* invalid UTF-8 inside names, strings and comments */
    const char bad[] = "# doc \xff\xfe\n"
                       "def f\xc3(a\x80, b):\n    '''\xed\xa0\x80 surrogate'''\n    return '\xc0\xaf'\n"
                       "class K\xf5:\n    def m(self): pass\n";
    r = parse_mem("bad.py", bad, sizeof bad - 1, &opt);
    assert_int_equal(r->skipped, SC_SKIP_NONE);
    sc_parse_result_free(r);

    const char gen[] = "// Code generated by protoc-gen-go. DO NOT EDIT.\npackage x\n";
    r = parse_mem("x.go", gen, sizeof gen - 1, &opt);
    assert_int_equal(r->skipped, SC_SKIP_GENERATED);
    sc_parse_result_free(r);
    r = parse_mem("app.min.js", "var a=1;\n", 9, &opt);
    assert_int_equal(r->skipped, SC_SKIP_GENERATED);
    sc_parse_result_free(r);

    /* 10 MB on one line: skipped for size by default, as minified when allowed */
    size_t big = 10u << 20;
    char *mini = malloc(big);
    for (size_t i = 0; i < big; i++) mini[i] = "var a=1;function f(){return a}"[i % 30];
    r = parse_mem("bundle.js", mini, big, &opt);
    assert_int_equal(r->skipped, SC_SKIP_TOO_LARGE);
    sc_parse_result_free(r);
    sc_parse_options large = opt;
    large.max_file_size = 64u << 20;
    r = parse_mem("bundle.js", mini, big, &large);
    assert_int_equal(r->skipped, SC_SKIP_MINIFIED);
    sc_parse_result_free(r);
    /* a 300 KB one-line file with the minified check off: chunked by bytes */
    sc_parse_options raw = opt;
    raw.minified_line_length = 0;
    raw.with_body = true;
    r = parse_mem("bundle.txt", mini, 300000, &raw);
    assert_int_equal(r->skipped, SC_SKIP_NONE);
    assert_int_equal(r->n_lines, 1);
    uint64_t covered = 0;
    for (uint32_t i = 0; i < r->n_entities; i++) {
        const sc_entity *e = &r->entities[i];
        assert_true(e->end_byte - e->start_byte <= raw.chunk_max_bytes);
        assert_int_equal(e->start_byte, covered);
        assert_int_equal(strlen(e->body), e->end_byte - e->start_byte);
        covered = e->end_byte;
    }
    assert_int_equal(covered, 300000);
    sc_parse_result_free(r);
    /* and the same bytes as JavaScript: parsed (entities, chunks), no crash */
    r = parse_mem("bundle.js", mini, 300000, &raw);
    assert_int_equal(r->skipped, SC_SKIP_NONE);
    assert_true(r->n_entities > 0);
    sc_parse_result_free(r);
    free(mini);
    assert_int_equal(sc_parser_parse(NULL, "x", "", 0, &opt, &r), SC_MISUSE);
}

/* Deep nesting must not exhaust the stack of the walk. */
static void test_deep_nesting(void **state) {
    (void)state;
    size_t depth = 20000;
    char *src = malloc(depth * 2 + 64);
    size_t n = 0;
    n += (size_t)sprintf(src, "x = ");
    for (size_t i = 0; i < depth; i++) src[n++] = '[';
    for (size_t i = 0; i < depth; i++) src[n++] = ']';
    src[n++] = '\n';
    sc_parse_options opt = sc_parse_options_default();
    opt.minified_line_length = 0;
    sc_parse_result *r = parse_mem("deep.py", src, n, &opt);
    assert_int_equal(r->skipped, SC_SKIP_NONE);
    sc_parse_result_free(r);
    free(src);
}

/* ==== Bodies and training pairs ==== */

static void test_body_on_request(void **state) {
    (void)state;
    sc_parse_result *r = parse_fixture("sample.go", false);
    for (uint32_t i = 0; i < r->n_entities; i++) assert_null(r->entities[i].body);
    sc_parse_result_free(r);
    r = parse_fixture("sample.go", true);
    for (uint32_t i = 0; i < r->n_entities; i++) {
        const sc_entity *e = &r->entities[i];
        assert_non_null(e->body);
        assert_int_equal(strlen(e->body), e->end_byte - e->start_byte);
    }
    sc_parse_result_free(r);
}

/* The doc must never leak into the code side of a pair. */
static void test_pairs_no_leak(void **state) {
    (void)state;
    static const char *const files[] = {"sample.py", "sample.js", "sample.ts", "sample.go", "Sample.java",
                                        "sample.c", "sample.cpp", "sample.rs", "sample.rb", "sample.php",
                                        "Sample.cs", "sample.sh", "sample.tsx"};
    uint32_t n_pairs = 0, n_inside = 0;
    for (size_t f = 0; f < sizeof files / sizeof files[0]; f++) {
        sc_parse_result *r = parse_fixture(files[f], true);
        for (uint32_t i = 0; i < r->n_entities; i++) {
            const sc_entity *e = &r->entities[i];
            if (!e->doc || e->kind == SC_ENTITY_KIND_CHUNK) continue;
            char *code = sc_entity_code_without_doc(e);
            assert_non_null(code);
            /* every line of the doc (long enough to be telling) is absent */
            char line[256];
            const char *p = e->doc;
            while (*p) {
                const char *nl = strchr(p, '\n');
                size_t len = nl ? (size_t)(nl - p) : strlen(p);
                if (len >= 6 && len < sizeof line) {
                    memcpy(line, p, len);
                    line[len] = 0;
                    if (strstr(code, line)) {
                        print_error("%s: doc line '%s' of %s leaks into its code\n", files[f], line, e->qualified_name);
                        fail();
                    }
                }
                p += len + (nl ? 1 : 0);
            }
            if (e->doc_start_byte >= e->start_byte && e->doc_end_byte <= e->end_byte) {
                n_inside++; /* docstring: it was in the body, so the cut did something */
                assert_non_null(strstr(e->body, "\"\"\""));
                assert_true(strlen(code) < strlen(e->body));
            }
            assert_non_null(strstr(code, e->name));
            sc_free(code);
            n_pairs++;
        }
        sc_parse_result_free(r);
    }
    assert_true(n_pairs >= 50);
    assert_true(n_inside >= 4);
}

static void test_pairs_docstring_cut(void **state) {
    (void)state;
    const char *src = "def f(x):\n    \"\"\"Secret words here.\"\"\"\n    return x\n";
    sc_parse_options opt = sc_parse_options_default();
    opt.with_body = true;
    sc_parse_result *r = parse_mem("a.py", src, strlen(src), &opt);
    assert_int_equal(r->n_entities, 1);
    char *code = sc_entity_code_without_doc(&r->entities[0]);
    assert_string_equal(code, "def f(x):\n    return x");
    assert_string_equal(r->entities[0].doc, "Secret words here.");
    sc_free(code);
    sc_parse_result_free(r);
}

/* ==== The extraction walk's iterator (iter.c) against TSTreeCursor ==== */

/* Walk the tree of src both ways: the same nodes (subtree, position,
** alias, symbol) at the same depths, in the same order. */
static void iter_matches_cursor(sc_lang lang, const char *src, size_t n) {
    const parse_lang_spec *spec = parse_lang_spec_get(lang);
    if (!spec->language) return;
    TSParser *ps = ts_parser_new();
    assert_true(ts_parser_set_language(ps, spec->language()));
    TSTree *t = ts_parser_parse_string(ps, NULL, src, (uint32_t)n);
    assert_non_null(t);
    TSNode root = ts_tree_root_node(t);
    TSTreeCursor cur = ts_tree_cursor_new(root);
    parse_iter *it = parse_iter_new(root);
    assert_non_null(it);
    uint32_t depth = 0;
    for (;;) {
        TSNode a = ts_tree_cursor_current_node(&cur), b;
        uint32_t bd = 0;
        assert_int_equal(parse_iter_next(it, &b, &bd), 1);
        assert_true(ts_node_eq(a, b));
        assert_memory_equal(a.context, b.context, sizeof a.context);
        assert_int_equal(ts_node_symbol(a), ts_node_symbol(b));
        assert_int_equal(ts_node_end_byte(a), ts_node_end_byte(b));
        assert_int_equal(depth, bd);
        if (ts_tree_cursor_goto_first_child(&cur)) { depth++; continue; }
        bool done = false;
        while (!done && !ts_tree_cursor_goto_next_sibling(&cur)) {
            if (ts_tree_cursor_goto_parent(&cur)) depth--;
            else done = true;
        }
        if (done) break;
    }
    TSNode end;
    uint32_t d;
    assert_int_equal(parse_iter_next(it, &end, &d), 0);
    parse_iter_free(it);
    ts_tree_cursor_delete(&cur);
    ts_tree_delete(t);
    ts_parser_delete(ps);
}

/* Every fixture, whole and cut in the middle (error recovery), and every
** seed of the parse fuzz corpus (first byte picks the language). */
static void test_iter_matches_cursor(void **state) {
    (void)state;
    const char *dirs[] = {FIXTURES, "tests/fuzz/corpus/parse/"};
    int files = 0;
    for (int k = 0; k < 2; k++) {
        DIR *d = opendir(dirs[k]);
        assert_non_null(d);
        struct dirent *de;
        while ((de = readdir(d)) != NULL) {
            if (de->d_name[0] == '.') continue;
            char path[512];
            snprintf(path, sizeof path, "%s%s", dirs[k], de->d_name);
            size_t n = 0;
            char *src = tu_read_file(path, &n);
            if (!src) continue;
            if (k == 0) {
                sc_lang lang = sc_lang_detect(path, src, n < 256 ? n : 256);
                iter_matches_cursor(lang, src, n);
                iter_matches_cursor(lang, src, n / 2);
                iter_matches_cursor(lang, src + n / 3, n - n / 3);
            } else if (n > 0) {
                for (int l = 1; l < SC_LANG_COUNT; l++) /* every grammar on every seed */
                    iter_matches_cursor((sc_lang)l, src + 1, n - 1);
            }
            free(src);
            files++;
        }
        closedir(d);
    }
    assert_true(files > 20);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_golden_entities),  cmocka_unit_test(test_golden_coverage),
        cmocka_unit_test(test_lang_detect),      cmocka_unit_test(test_shebang_file),
        cmocka_unit_test(test_chunks_no_grammar), cmocka_unit_test(test_chunks_outside_entities),
        cmocka_unit_test(test_syntax_errors),    cmocka_unit_test(test_hostile_input),
        cmocka_unit_test(test_deep_nesting),     cmocka_unit_test(test_body_on_request),
        cmocka_unit_test(test_pairs_no_leak),    cmocka_unit_test(test_pairs_docstring_cut),
        cmocka_unit_test(test_iter_matches_cursor), cmocka_unit_test(test_parser_new_errmsg),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
