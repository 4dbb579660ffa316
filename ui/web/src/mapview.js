// The map of a wall screen: no tiles or fonts from anywhere (command centers are often
// air-gapped), only what commandd sends — the district's hexagons, units, incidents,
// cameras — on a dark base; a street map is added only when a tile URL is given.
import * as maplibregl from "maplibre-gl";
import "maplibre-gl/dist/maplibre-gl.css";
import { cellsToMultiPolygon, cellToBoundary, latLngToCell } from "h3-js";
import { STATE_COLOR, STATUS_COLOR, worstState } from "./state.js";
import { config } from "./net.js";

const FORCE_STROKE = { police: "#ffffff", patrol: "#90caf9", volunteer: "#a5d6a7", guard: "#ffe082" };
const MODE_RADIUS = { car: 6, motorbike: 5, bike: 4, foot: 3.5 };

const empty = () => ({ type: "FeatureCollection", features: [] });

// createMap draws into container. A street map is shown under everything when the
// server is configured with a tile server of the command center's own (--tiles).
export function createMap(container, { onSelect } = {}) {
  const map = new maplibregl.Map({
    container,
    style: { version: 8, sources: {}, layers: [{ id: "base", type: "background", paint: { "background-color": "#0b1117" } }] },
    center: [118.13, 24.505],
    zoom: 12,
    attributionControl: false,
    fadeDuration: 0,
  });
  let fitted = false;
  // ready: the map is loaded and its sources and layers are in place.
  const ready = new Promise((resolve) => map.on("load", resolve)).then(async () => {
    try {
      const { tiles } = await config;
      if (tiles) {
        map.addSource("street", { type: "raster", tiles: [tiles], tileSize: 256 });
        map.addLayer({ id: "street", type: "raster", source: "street", paint: { "raster-opacity": 0.5 } });
      }
    } catch {
      /* no street map */
    }
    for (const id of ["hex", "grids", "district", "cameras", "alarms", "incidents", "headings", "moveups", "posts", "units", "selected"]) {
      map.addSource(id, { type: "geojson", data: empty() });
    }
    map.addLayer({ id: "hex", type: "fill", source: "hex", paint: { "fill-color": ["get", "color"], "fill-opacity": 0.32 } });
    map.addLayer({ id: "grids", type: "line", source: "grids", layout: { visibility: "none" }, paint: { "line-color": "#8aa4b8", "line-width": 1, "line-dasharray": [2, 2] } });
    map.addLayer({ id: "district", type: "line", source: "district", paint: { "line-color": "#4f6b80", "line-width": 2 } });
    map.addLayer({ id: "cameras", type: "circle", source: "cameras", paint: { "circle-radius": 2, "circle-color": "#6d7f8c" } });
    map.addLayer({
      id: "alarms", type: "circle", source: "alarms",
      paint: { "circle-radius": 9, "circle-color": "rgba(0,0,0,0)", "circle-stroke-color": "#ff5c8a", "circle-stroke-width": 2, "circle-stroke-opacity": ["get", "fade"] },
    });
    map.addLayer({
      id: "incidents", type: "circle", source: "incidents",
      paint: {
        "circle-radius": ["+", 7, ["*", 3, ["-", 4, ["get", "priority"]]]],
        "circle-color": ["get", "color"],
        "circle-stroke-color": "#000", "circle-stroke-width": 2, "circle-opacity": 0.9,
      },
    });
    map.addLayer({ id: "headings", type: "line", source: "headings", paint: { "line-color": ["get", "color"], "line-width": 2 } });
    // Move-ups: a dashed line from the unit to its post, and the post; brighter once sent.
    map.addLayer({
      id: "moveups", type: "line", source: "moveups",
      paint: { "line-color": "#5ac8fa", "line-width": 2, "line-dasharray": [2, 2], "line-opacity": ["get", "opacity"] },
    });
    map.addLayer({
      id: "posts", type: "circle", source: "posts",
      paint: { "circle-radius": 5, "circle-color": "rgba(0,0,0,0)", "circle-stroke-color": "#5ac8fa", "circle-stroke-width": 2, "circle-stroke-opacity": ["get", "opacity"] },
    });
    map.addLayer({
      id: "units", type: "circle", source: "units",
      paint: { "circle-radius": ["get", "r"], "circle-color": ["get", "color"], "circle-stroke-color": ["get", "stroke"], "circle-stroke-width": 1.5 },
    });
    map.addLayer({
      id: "selected", type: "circle", source: "selected",
      paint: { "circle-radius": 22, "circle-color": "rgba(0,0,0,0)", "circle-stroke-color": "#fff", "circle-stroke-width": 2, "circle-stroke-opacity": 0.8 },
    });
    map.on("click", "incidents", (e) => onSelect && onSelect(e.features[0].properties.id));
    map.on("mouseenter", "incidents", () => (map.getCanvas().style.cursor = "pointer"));
    map.on("mouseleave", "incidents", () => (map.getCanvas().style.cursor = ""));
  });

  const set = (id, fc) => ready.then(() => map.getSource(id).setData(fc));
  let gridLabels = [];
  let gridsOn = false;
  const showGrids = (on) =>
    ready.then(() => {
      map.setLayoutProperty("grids", "visibility", on ? "visible" : "none");
      const readable = on && map.getZoom() >= 13;
      for (const m of gridLabels) readable ? m.addTo(map) : m.remove();
    });
  map.on("zoomend", () => gridsOn && showGrids(true));

  return {
    map,
    ready,
    // draw shows the state; selected is the id of the selected incident.
    draw(state, selected) {
      const units = [];
      const headings = [];
      for (const u of state.units.values()) {
        if (!(u.lat || u.lng)) continue; // not placed yet
        const color = STATUS_COLOR[u.status] || "#999";
        units.push({
          type: "Feature",
          geometry: { type: "Point", coordinates: [u.lng, u.lat] },
          properties: { id: u.id, color, stroke: FORCE_STROKE[u.force] || "#fff", r: MODE_RADIUS[u.mode] || 4 },
        });
        if (u.speed > 0.5) {
          const rad = ((u.heading || 0) * Math.PI) / 180;
          const len = 0.0012;
          headings.push({
            type: "Feature",
            geometry: { type: "LineString", coordinates: [[u.lng, u.lat], [u.lng + Math.sin(rad) * len, u.lat + Math.cos(rad) * len]] },
            properties: { color },
          });
        }
      }
      const incidents = [...state.incidents.values()].map((i) => ({
        type: "Feature",
        geometry: { type: "Point", coordinates: [i.lng, i.lat] },
        properties: { id: i.id, priority: Math.min(i.priority, 4), color: STATE_COLOR[worstState(i)] },
      }));
      const now = Date.parse(state.t) || Date.now();
      const alarms = state.alarms.map((a) => ({
        type: "Feature",
        geometry: { type: "Point", coordinates: [a.lng, a.lat] },
        properties: { fade: Math.max(0.15, 1 - (now - a.at) / 600000) },
      }));
      const moves = [];
      const posts = [];
      for (const mv of state.moveups || []) {
        const u = state.units.get(mv.unit);
        const opacity = mv.sent ? 1 : 0.6;
        posts.push({ type: "Feature", geometry: { type: "Point", coordinates: [mv.lng, mv.lat] }, properties: { opacity } });
        if (u && (u.lat || u.lng)) {
          moves.push({ type: "Feature", geometry: { type: "LineString", coordinates: [[u.lng, u.lat], [mv.lng, mv.lat]] }, properties: { opacity } });
        }
      }
      set("moveups", { type: "FeatureCollection", features: moves });
      set("posts", { type: "FeatureCollection", features: posts });
      const sel = selected && state.incidents.get(selected);
      set("units", { type: "FeatureCollection", features: units });
      set("headings", { type: "FeatureCollection", features: headings });
      set("incidents", { type: "FeatureCollection", features: incidents });
      set("alarms", { type: "FeatureCollection", features: alarms });
      set("selected", sel ? { type: "FeatureCollection", features: [{ type: "Feature", geometry: { type: "Point", coordinates: [sel.lng, sel.lat] }, properties: {} }] } : empty());
      if (!fitted && units.length > 1) {
        fitted = true;
        const b = new maplibregl.LngLatBounds();
        for (const f of units) b.extend(f.geometry.coordinates);
        ready.then(() => map.fitBounds(b, { padding: 40, duration: 0 }));
      }
    },
    cameras(list) {
      set("cameras", {
        type: "FeatureCollection",
        features: list.map((c) => ({ type: "Feature", geometry: { type: "Point", coordinates: [c.lng, c.lat] }, properties: {} })),
      });
    },
    // district draws the outline of the district's cells.
    district(cells) {
      if (!cells.length) return;
      set("district", { type: "Feature", geometry: { type: "MultiPolygon", coordinates: cellsToMultiPolygon(cells, true) }, properties: {} });
    },
    // hex colours cells: values is [[cell, color], …].
    hex(values) {
      set("hex", {
        type: "FeatureCollection",
        features: values.map(([cell, color]) => ({
          type: "Feature",
          geometry: { type: "Polygon", coordinates: [cellToBoundary(cell, true)] },
          properties: { color },
        })),
      });
    },
    // grids draws the district's management grids (GeoJSON polygons with id and
    // name), and names them with labels of the page's own (the map has no font
    // server to draw text with) once zoomed in enough to read them.
    grids(features) {
      set("grids", { type: "FeatureCollection", features });
      for (const m of gridLabels) m.remove();
      gridLabels = features.map((f) => {
        const el = document.createElement("div");
        el.className = "grid-label";
        el.textContent = f.properties.name || f.properties.id;
        const ring = (f.geometry.type === "Polygon" ? f.geometry.coordinates[0] : f.geometry.coordinates[0][0]) || [];
        const at = ring.reduce((a, [x, y]) => [a[0] + x / ring.length, a[1] + y / ring.length], [0, 0]);
        return new maplibregl.Marker({ element: el }).setLngLat(at);
      });
      showGrids(gridsOn);
    },
    showGrids(on) {
      gridsOn = on;
      showGrids(on);
    },
    flyTo(lng, lat) {
      map.easeTo({ center: [lng, lat], duration: 500 });
    },
  };
}

// coverageColor: how soon the first unit of a tier reaches a cell, against its
// deadline (the tier's, from the plan): green inside, amber within twice, red beyond or none.
export function coverageColor(seconds, deadline) {
  if (seconds < 0) return "#b00020";
  if (seconds <= deadline) return "#2e7d32";
  if (seconds <= 2 * deadline) return "#ff8f00";
  return "#d32f2f";
}

// densityCells counts alerts by cell (resolution 8, ~0.7 km²) and colours them.
export function densityCells(incidents) {
  const counts = new Map();
  for (const inc of incidents) {
    for (const a of inc.alerts || []) {
      const c = latLngToCell(a.lat, a.lng, 8);
      counts.set(c, (counts.get(c) || 0) + 1);
    }
  }
  const max = Math.max(1, ...counts.values());
  return [...counts].map(([c, n]) => [c, `rgba(255, ${Math.round(200 - (160 * n) / max)}, 40, ${0.3 + (0.6 * n) / max})`]);
}
