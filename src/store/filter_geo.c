/*
** store/filter_geo.c: Qdrant's geo conditions in filters: geo_radius,
** geo_bounding_box and geo_polygon over payload values {"lon": x, "lat": y}.
**
** Semantics (Qdrant's condition checker and `geo` crate):
** - geo_radius: haversine distance on a sphere of the mean Earth radius
**   (6,371,008.8 m) strictly below `radius` metres;
** - geo_bounding_box: latitude strictly between bottom_right.lat and
**   top_left.lat, longitude strictly between top_left.lon and
**   bottom_right.lon, or outside them when the box crosses the antimeridian
**   (top_left.lon > bottom_right.lon);
** - geo_polygon: inside the exterior ring (even-odd rule) and inside none of
**   the interior rings; a ring needs at least 4 points and must be closed
**   (first point = last point), as Qdrant validates.
** Coordinates are checked: lon in [-180, 180], lat in [-90, 90].
*/
#include "store/filter_int.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FILTER_GEO__EARTH_RADIUS_M 6371008.8

void filter_geo_free(filter_geo *g) {
    if (!g) return;
    for (size_t i = 0; i < g->n_rings; i++) {
        free(g->rings[i].lat);
        free(g->rings[i].lon);
    }
    free(g->rings);
    free(g);
}

/* ==== Compiling ==== */

/* A GeoPoint {lon, lat} at where; SC_INVALID naming it. */
static sc_status filter_geo__point(const char *where, const json_t *v, double *lat, double *lon, sc_err *err) {
    const json_t *jlat = json_is_object(v) ? json_object_get(v, "lat") : NULL;
    const json_t *jlon = json_is_object(v) ? json_object_get(v, "lon") : NULL;
    if (!json_is_number(jlat) || !json_is_number(jlon))
        return sc_err_set(err, SC_INVALID, "%s: expected a point {\"lon\": number, \"lat\": number}", where);
    *lat = json_number_value(jlat);
    *lon = json_number_value(jlon);
    if (!(*lon >= -180.0 && *lon <= 180.0))
        return sc_err_set(err, SC_INVALID, "%s.lon: wrong input: longitude %g is out of range -180..180", where, *lon);
    if (!(*lat >= -90.0 && *lat <= 90.0))
        return sc_err_set(err, SC_INVALID, "%s.lat: wrong input: latitude %g is out of range -90..90", where, *lat);
    return SC_OK;
}

/* A GeoLineString {points: [...]} at where into ring. */
static sc_status filter_geo__ring(const char *where, const json_t *v, filter_geo_ring *ring, sc_err *err) {
    const json_t *pts = json_is_object(v) ? json_object_get(v, "points") : NULL;
    if (!json_is_array(pts))
        return sc_err_set(err, SC_INVALID, "%s: expected a line string {\"points\": [{\"lon\", \"lat\"}, ...]}", where);
    size_t n = json_array_size(pts);
    if (n < 4)
        return sc_err_set(err, SC_INVALID, "%s: polygon invalid, the size must be at least 4, got %zu", where, n);
    ring->lat = malloc(n * sizeof *ring->lat);
    ring->lon = malloc(n * sizeof *ring->lon);
    if (!ring->lat || !ring->lon) return sc_err_set(err, SC_NOMEM, "%s: out of memory", where);
    for (size_t i = 0; i < n; i++) {
        char at[512];
        snprintf(at, sizeof at, "%s.points[%zu]", where, i);
        sc_status rc = filter_geo__point(at, json_array_get(pts, i), &ring->lat[i], &ring->lon[i], err);
        if (rc != SC_OK) return rc;
        ring->n = i + 1;
    }
    if (ring->lat[0] != ring->lat[n - 1] || ring->lon[0] != ring->lon[n - 1])
        return sc_err_set(err, SC_INVALID,
                          "%s: polygon invalid, the first and the last points should be the same to form a closed line",
                          where);
    return SC_OK;
}

static sc_status filter_geo__polygon(const char *where, const json_t *v, filter_geo *g, sc_err *err) {
    if (!json_is_object(v)) return sc_err_set(err, SC_INVALID, "%s: expected an object with exterior and interiors", where);
    const json_t *in = json_object_get(v, "interiors");
    if (in && !json_is_null(in) && !json_is_array(in))
        return sc_err_set(err, SC_INVALID, "%s.interiors: expected an array of line strings", where);
    size_t n_in = json_is_array(in) ? json_array_size(in) : 0;
    if (!(g->rings = calloc(n_in + 1, sizeof *g->rings))) return sc_err_set(err, SC_NOMEM, "%s: out of memory", where);
    g->n_rings = n_in + 1;
    char at[400];
    snprintf(at, sizeof at, "%s.exterior", where);
    sc_status rc = filter_geo__ring(at, json_object_get(v, "exterior"), &g->rings[0], err);
    for (size_t i = 0; rc == SC_OK && i < n_in; i++) {
        snprintf(at, sizeof at, "%s.interiors[%zu]", where, i);
        rc = filter_geo__ring(at, json_array_get(in, i), &g->rings[i + 1], err);
    }
    return rc;
}

sc_status filter_geo_compile(const char *where, const char *name, const json_t *v, filter_cond *c, sc_err *err) {
    char at[340];
    snprintf(at, sizeof at, "%s.%s", where, name);
    c->kind = FILTER_COND_KIND_GEO;
    filter_geo *g = calloc(1, sizeof *g);
    if (!g) return sc_err_set(err, SC_NOMEM, "%s: out of memory", at);
    c->geo = g; /* freed with the condition, also on error */
    if (!json_is_object(v)) return sc_err_set(err, SC_INVALID, "%s: expected an object", at);
    char sub[360];
    if (!strcmp(name, "geo_radius")) {
        g->kind = FILTER_GEO_KIND_RADIUS;
        snprintf(sub, sizeof sub, "%s.center", at);
        sc_status rc = filter_geo__point(sub, json_object_get(v, "center"), &g->lat, &g->lon, err);
        if (rc != SC_OK) return rc;
        const json_t *r = json_object_get(v, "radius");
        if (!json_is_number(r) || !(json_number_value(r) >= 0) || !isfinite(json_number_value(r)))
            return sc_err_set(err, SC_INVALID, "%s.radius: expected a number of metres >= 0", at);
        g->radius = json_number_value(r);
        return SC_OK;
    }
    if (!strcmp(name, "geo_bounding_box")) {
        g->kind = FILTER_GEO_KIND_BOX;
        snprintf(sub, sizeof sub, "%s.top_left", at);
        sc_status rc = filter_geo__point(sub, json_object_get(v, "top_left"), &g->top, &g->left, err);
        if (rc != SC_OK) return rc;
        snprintf(sub, sizeof sub, "%s.bottom_right", at);
        return filter_geo__point(sub, json_object_get(v, "bottom_right"), &g->bottom, &g->right, err);
    }
    g->kind = FILTER_GEO_KIND_POLYGON;
    return filter_geo__polygon(at, v, g, err);
}

/* ==== Testing ==== */

static double filter_geo__rad(double deg) {
    return deg * (M_PI / 180.0);
}

/* Great-circle distance in metres (haversine). */
static double filter_geo__distance(double lat1, double lon1, double lat2, double lon2) {
    double dlat = filter_geo__rad(lat2 - lat1), dlon = filter_geo__rad(lon2 - lon1);
    double a = sin(dlat / 2) * sin(dlat / 2) +
               cos(filter_geo__rad(lat1)) * cos(filter_geo__rad(lat2)) * sin(dlon / 2) * sin(dlon / 2);
    return 2.0 * FILTER_GEO__EARTH_RADIUS_M * asin(sqrt(a < 1.0 ? a : 1.0));
}

/* Even-odd rule: does the ray from (lat, lon) towards +lon cross the ring an odd number of times? */
static bool filter_geo__in_ring(const filter_geo_ring *r, double lat, double lon) {
    bool in = false;
    for (size_t i = 0, j = r->n - 1; i < r->n; j = i++) {
        double yi = r->lat[i], yj = r->lat[j], xi = r->lon[i], xj = r->lon[j];
        if ((yi > lat) != (yj > lat) && lon < (xj - xi) * (lat - yi) / (yj - yi) + xi) in = !in;
    }
    return in;
}

bool filter_geo_test(const filter_geo *g, double lat, double lon) {
    switch (g->kind) {
    case FILTER_GEO_KIND_RADIUS: return filter_geo__distance(g->lat, g->lon, lat, lon) < g->radius;
    case FILTER_GEO_KIND_BOX: {
        bool lon_ok = g->left > g->right ? (lon > g->left || lon < g->right) : (g->left < lon && lon < g->right);
        return lon_ok && g->bottom < lat && lat < g->top;
    }
    case FILTER_GEO_KIND_POLYGON:
        if (!g->n_rings || !filter_geo__in_ring(&g->rings[0], lat, lon)) return false;
        for (size_t i = 1; i < g->n_rings; i++)
            if (filter_geo__in_ring(&g->rings[i], lat, lon)) return false;
        return true;
    }
    return false;
}

bool filter_geo_test_value(const filter_geo *g, const json_t *v) {
    if (!json_is_object(v)) return false;
    const json_t *lat = json_object_get(v, "lat"), *lon = json_object_get(v, "lon");
    return json_is_number(lat) && json_is_number(lon) && filter_geo_test(g, json_number_value(lat), json_number_value(lon));
}
