/*
 * geomap.js: the behaviour of the map pages (written for this project, no build step).
 *
 * The page itself is a shell (geo_app/maps/shell.py): a Leaflet map, its controls and legend. The
 * data comes by request for the current view: every data layer reads a *source*, which is either
 * an endpoint (GET url?<view params>&bbox=minlon,minlat,maxlon,maxlat&zoom=Z, fetched again when
 * the view leaves what was loaded, debounced, an older request aborted) or inline data (a page
 * saved to disk cannot fetch; ``geo-app layers build`` writes the responses into the page).
 *
 * Text: ``popup_html`` comes escaped from the server and is inserted as HTML; every other string
 * (names) is inserted as text (textContent), never as HTML.
 */
(function (window, document, L) {
  "use strict";

  var GeoMap = (window.GeoMap = {});

  // --- small helpers -------------------------------------------------------------------------------

  function debounce(fn, ms) {
    var timer = null;
    return function () {
      var self = this;
      var args = arguments;
      window.clearTimeout(timer);
      timer = window.setTimeout(function () {
        fn.apply(self, args);
      }, ms);
    };
  }

  /** An element with a class and (optionally) text; never parses HTML. */
  function element(tag, className, text, parent) {
    var el = document.createElement(tag);
    if (className) el.className = className;
    if (text !== undefined && text !== null) el.textContent = String(text);
    if (parent) parent.appendChild(el);
    return el;
  }

  function state(map) {
    if (!map._geo) {
      map._geo = { sources: {}, data: {}, layers: {}, bases: {}, labels: [], userTouched: false, autoLayers: {} };
    }
    return map._geo;
  }

  function isSmallScreen() {
    return window.innerWidth <= 600 || window.innerHeight <= 480;
  }
  GeoMap.isSmallScreen = isSmallScreen;

  function round(value, digits) {
    var f = Math.pow(10, digits);
    return Math.round(value * f) / f;
  }

  function bboxParam(bounds) {
    var sw = bounds.getSouthWest();
    var ne = bounds.getNorthEast();
    return [
      round(Math.max(-180, sw.lng), 5),
      round(Math.max(-90, sw.lat), 5),
      round(Math.min(180, ne.lng), 5),
      round(Math.min(90, ne.lat), 5),
    ].join(",");
  }

  /** [minlon, minlat, maxlon, maxlat] or [[lat, lon], [lat, lon]] as L.LatLngBounds. */
  function toBounds(value) {
    if (!value) return null;
    if (value.length === 4 && typeof value[0] === "number") {
      return L.latLngBounds([value[1], value[0]], [value[3], value[2]]);
    }
    if (value.length === 2 && value[0].length === 2) {
      return L.latLngBounds(value[0], value[1]);
    }
    return null;
  }
  GeoMap.toBounds = toBounds;

  function setQuery(url, params) {
    var parts = [];
    Object.keys(params).forEach(function (key) {
      var value = params[key];
      if (value === undefined || value === null || value === "") return;
      parts.push(encodeURIComponent(key) + "=" + encodeURIComponent(value));
    });
    if (!parts.length) return url;
    return url + (url.indexOf("?") >= 0 ? "&" : "?") + parts.join("&");
  }

  // --- sources --------------------------------------------------------------------------------------

  /**
   * One source of data for one map, shared by every layer that reads it (the desa polygons, their
   * names, the highlight and the search read one desa source: one request per view).
   *
   * spec: {url, params, view: "bbox" | "zoom" | "none", pad} or {inline: data} or
   *       {inline: {levels: [{min_zoom, max_zoom, data}, ...]}}; {data: key} is the inline data
   *       written once into the page under that key (GeoMap.pageData), resolved by GeoMap.source.
   * Fires "data" ({data}) when new data is there, "error" ({error}) when a request failed.
   */
  var Source = L.Evented.extend({
    initialize: function (map, spec) {
      this._map = map;
      this._spec = spec;
      this._users = 0;
      this._data = null;
      this._loaded = null;
      this._controller = null;
      this._request = null;
      this.requests = 0;
      var later = debounce(L.bind(this.refresh, this), spec.debounce === undefined ? 200 : spec.debounce);
      this._onMove = function () {
        this._scheduled = true;
        later();
      };
    },

    /** A request in flight or about to be sent (the view moved less than the debounce ago). */
    busy: function () {
      return !!(this._request || (this._scheduled && this._users > 0));
    },

    inline: function () {
      return !this._spec.url;
    },

    data: function () {
      return this._data;
    },

    attach: function () {
      this._users += 1;
      if (this._users === 1) this._map.on("moveend", this._onMove, this);
      this.refresh();
    },

    detach: function () {
      this._users = Math.max(0, this._users - 1);
      if (this._users === 0) {
        this._map.off("moveend", this._onMove, this);
        this.abort();
      }
    },

    abort: function () {
      if (this._controller) this._controller.abort();
      this._controller = null;
      this._request = null;
    },

    /** The zoom the server sees: whole levels (the map may stand between two). */
    zoom: function () {
      return Math.round(this._map.getZoom());
    },

    /** The URL for a view (bounds and zoom); also used by the search for the whole area. */
    url: function (bounds, zoom) {
      var spec = this._spec;
      var params = L.extend({}, spec.params || {});
      var view = spec.view || "bbox";
      if (view === "bbox" && bounds) params.bbox = bboxParam(bounds);
      if (view !== "none") params.zoom = zoom;
      return setQuery(spec.url, params);
    },

    /** Inline data for a zoom: one response, or the level whose zoom range holds it. */
    inlineFor: function (zoom) {
      var inline = this._spec.inline;
      if (!inline || !inline.levels) return inline || null;
      var pick = null;
      inline.levels.forEach(function (level) {
        var lo = level.min_zoom === undefined ? -Infinity : level.min_zoom;
        var hi = level.max_zoom === undefined ? Infinity : level.max_zoom;
        if (zoom >= lo && zoom <= hi && pick === null) pick = level.data;
      });
      return pick || inline.levels[inline.levels.length - 1].data;
    },

    /** Does what was loaded (or is being loaded) cover the current view? */
    _covers: function (what, view, zoom) {
      if (!what) return false;
      var mode = this._spec.view || "bbox";
      if (mode === "none") return true;
      if (what.zoom !== zoom) return false;
      return mode === "zoom" || what.bounds.contains(view);
    },

    /** Outside the source's zoom range (spec min_zoom/max_zoom): nothing to ask for, nothing drawn. */
    outOfRange: function (zoom) {
      var spec = this._spec;
      return (spec.min_zoom !== undefined && zoom < spec.min_zoom) || (spec.max_zoom !== undefined && zoom > spec.max_zoom);
    },

    refresh: function () {
      this._scheduled = false;
      var zoom = this.zoom();
      if (this.outOfRange(zoom)) {
        this.abort();
        this._loaded = null;
        if (!this._data || !this._data.outOfRange) {
          this._data = { type: "FeatureCollection", features: [], zoom: zoom, outOfRange: true };
          this.fire("data", { data: this._data, zoom: zoom });
        }
        return;
      }
      if (this._data && this._data.outOfRange) this._data = null;
      if (this.inline()) {
        var data = this.inlineFor(zoom);
        if (data !== this._data) {
          this._data = data;
          this.fire("data", { data: data, zoom: zoom });
        }
        return;
      }
      var view = this._map.getBounds();
      if (this._covers(this._loaded, view, zoom) || this._covers(this._request, view, zoom)) return;
      this.abort();
      var bounds = view.pad(this._spec.pad === undefined ? 0.25 : this._spec.pad);
      var url = this.url(bounds, zoom);
      var controller = window.AbortController ? new window.AbortController() : null;
      var request = { bounds: bounds, zoom: zoom, url: url };
      var self = this;
      this._controller = controller;
      this._request = request;
      this.requests += 1;
      this.fire("loading", request);
      window
        .fetch(url, {
          credentials: "same-origin",
          headers: { Accept: "application/json" },
          signal: controller ? controller.signal : undefined,
        })
        .then(function (response) {
          if (!response.ok) throw new Error("HTTP " + response.status + " " + url);
          return response.json();
        })
        .then(function (data) {
          if (self._request !== request) return; // a newer view was asked for meanwhile
          self._controller = null;
          self._request = null;
          self._loaded = request;
          self._data = data;
          self.fire("data", { data: data, zoom: zoom, bounds: bounds, url: url });
        })
        .catch(function (error) {
          if (error && error.name === "AbortError") return;
          if (self._request === request) {
            self._controller = null;
            self._request = null;
          }
          self.fire("error", { error: error, url: url });
        });
    },
  });

  /** Number of sources of ``map`` with a request in flight or scheduled (0: what is drawn is up to date). */
  GeoMap.pending = function (map) {
    var sources = state(map).sources;
    return Object.keys(sources).filter(function (key) {
      return sources[key].busy();
    }).length;
  };

  /**
   * The inline data of a page opened from disk, each data set once by key ({desa: ..., kecamatan: ...});
   * sources name theirs ({data: key}), so the layers drawing one data set share one copy. Called
   * before the layers are made.
   */
  GeoMap.pageData = function (map, data) {
    L.extend(state(map).data, data);
  };

  /** The shared source of ``spec`` on ``map`` (one per distinct spec). */
  GeoMap.source = function (map, spec) {
    var key = JSON.stringify(spec.url ? [spec.url, spec.params || {}, spec.view || "bbox"] : spec);
    var sources = state(map).sources;
    if (!sources[key]) {
      if (spec.data !== undefined) {
        var data = state(map).data[spec.data];
        if (data === undefined && window.console) window.console.error("map data: no data set " + spec.data);
        spec = L.extend({}, spec, { inline: data || { type: "FeatureCollection", features: [] } });
      }
      sources[key] = new Source(map, spec);
      sources[key].on("error", function (e) {
        GeoMap.notice(map, "data-error", map._geoTexts && map._geoTexts.dataFailed);
        if (window.console && window.console.warn) window.console.warn("map data:", e.url, e.error);
      });
      sources[key].on("data", function () {
        GeoMap.clearNotice(map, "data-error");
      });
    }
    return sources[key];
  };

  // --- panes: outlines, labels and heat never catch a click --------------------------------------------

  GeoMap.setup = function (map, texts) {
    map._geoTexts = texts || {};
    [
      ["geo-outlines", 410],
      ["geo-labels", 420],
      ["geo-heat", 430],
    ].forEach(function (pane) {
      if (!map.getPane(pane[0])) {
        var el = map.createPane(pane[0]);
        el.style.zIndex = pane[1];
        el.style.pointerEvents = "none";
      }
    });
  };

  // --- data layers ----------------------------------------------------------------------------------

  /** A layer group drawn from a source while it is on the map (nothing is fetched while it is off). */
  var SourceLayer = L.FeatureGroup.extend({
    initialize: function (map, spec, options) {
      L.setOptions(this, options);
      L.FeatureGroup.prototype.initialize.call(this, []);
      this._source = GeoMap.source(map, spec);
      this.drawn = 0;
    },

    source: function () {
      return this._source;
    },

    onAdd: function (map) {
      L.FeatureGroup.prototype.onAdd.call(this, map);
      this._source.on("data", this._onData, this);
      if (this._source.data()) this._redraw(this._source.data());
      this._source.attach();
    },

    onRemove: function (map) {
      this._source.off("data", this._onData, this);
      this._source.detach();
      L.FeatureGroup.prototype.onRemove.call(this, map);
      this.clearLayers();
    },

    _onData: function (e) {
      this._redraw(e.data);
    },

    _redraw: function (data) {
      this.clearLayers();
      this.draw(data || {});
      this.drawn += 1;
      this.fire("drawn", { data: data });
    },

    draw: function () {},
  });

  function features(data) {
    return (data && data.features) || [];
  }

  /** Desa polygons coloured by status; a click anywhere on a desa opens the desa's popup. */
  GeoMap.DesaLayer = SourceLayer.extend({
    options: { fillOpacity: 0.6, plannedColor: "#2c7bb6", popupMaxWidth: 360, patterns: {} },

    draw: function (data) {
      var self = this;
      var map = this._map;
      var o = this.options;
      var patterned = [];
      L.geoJSON(data, {
        style: function (feature) {
          var p = feature.properties || {};
          var style = {
            color: "#444444",
            weight: 1,
            fillColor: p.color || "#bbbbbb",
            fillOpacity: o.fillOpacity,
            className: "desa-polygon",
          };
          if (p.planned) {
            style.color = o.plannedColor;
            style.weight = 3;
            style.dashArray = "5 4";
          }
          return style;
        },
        onEachFeature: function (feature, layer) {
          layer.on("click", function (e) {
            GeoMap.openDesaPopup(map, feature, e.latlng, o.popupMaxWidth);
          });
          layer.on("add", function () {
            var path = layer.getElement && layer.getElement();
            if (path && feature.properties) {
              path.setAttribute("data-code", feature.properties.code);
              path.setAttribute("data-status", feature.properties.status || "");
            }
          });
          var pattern = feature.properties && o.patterns[feature.properties.status];
          if (pattern) patterned.push({ feature: feature, pattern: pattern });
        },
      }).eachLayer(function (layer) {
        self.addLayer(layer);
      });
      // a pattern over some statuses (a second cue besides colour): the same shape again, filled with
      // an SVG pattern, taking no clicks
      patterned.forEach(function (item) {
        L.geoJSON(item.feature, {
          interactive: false,
          style: function () {
            return {
              stroke: false,
              fillColor: "url(#" + GeoMap.patternId(map, item.pattern) + ")",
              fillOpacity: 1,
              className: "status-pattern",
              interactive: false,
            };
          },
        }).eachLayer(function (layer) {
          self.addLayer(layer);
        });
      });
    },
  });

  /**
   * Roll-up areas (kabupaten, kecamatan) filled by their share of uncovered desa (``color`` from the
   * server, a one-hue ramp); hovering shows the area's figures (``popup_html``, escaped by the
   * server), a click zooms to the area (``bounds``, else the shape's).
   */
  GeoMap.RollupLayer = SourceLayer.extend({
    options: { fillOpacity: 0.75, className: "rollup-area", kind: "kabupaten", padding: 12, maxZoom: 99 },

    onAdd: function (map) {
      SourceLayer.prototype.onAdd.call(this, map);
      map.on("zoomend", this._onZoom, this);
    },

    onRemove: function (map) {
      map.off("zoomend", this._onZoom, this);
      SourceLayer.prototype.onRemove.call(this, map);
    },

    /** Past ``maxZoom`` the areas go at once (inline data does not change with the zoom). */
    _onZoom: function () {
      var shown = this.getLayers().length > 0;
      if (shown !== this._source.zoom() <= this.options.maxZoom) this._redraw(this._source.data());
    },

    draw: function (data) {
      var self = this;
      var map = this._map;
      var o = this.options;
      if (this._source.zoom() > o.maxZoom) return; // zoomed in: the desa take over
      L.geoJSON(data, {
        style: function (feature) {
          return {
            color: "#333333",
            weight: 1.5,
            fillColor: (feature.properties && feature.properties.color) || "#bbbbbb",
            fillOpacity: o.fillOpacity,
            className: o.className,
          };
        },
        onEachFeature: function (feature, layer) {
          var p = feature.properties || {};
          if (p.popup_html) layer.bindTooltip(p.popup_html, { sticky: true, className: "rollup-tip" });
          layer.on("click", function () {
            var b = p.bounds ? L.latLngBounds([p.bounds[1], p.bounds[0]], [p.bounds[3], p.bounds[2]]) : layer.getBounds();
            map.fitBounds(b, { padding: [o.padding, o.padding] });
          });
          layer.on("add", function () {
            var path = layer.getElement && layer.getElement();
            if (path) {
              path.setAttribute("data-code", p.code || "");
              path.setAttribute("data-rollup", o.kind);
              path.setAttribute("data-share", p.share_uncovered === null ? "" : String(p.share_uncovered));
            }
          });
        },
      }).eachLayer(function (layer) {
        self.addLayer(layer);
      });
    },
  });

  /** The id of an SVG fill pattern, defined once in the overlay pane's SVG. */
  GeoMap.patternId = function (map, name) {
    var id = "geo-pattern-" + name;
    var svg = map.getPanes().overlayPane.querySelector("svg");
    if (!svg || svg.querySelector("#" + id)) return id;
    var ns = "http://www.w3.org/2000/svg";
    var defs = svg.querySelector("defs") || svg.insertBefore(document.createElementNS(ns, "defs"), svg.firstChild);
    var pattern = document.createElementNS(ns, "pattern");
    pattern.setAttribute("id", id);
    pattern.setAttribute("patternUnits", "userSpaceOnUse");
    pattern.setAttribute("width", "7");
    pattern.setAttribute("height", "7");
    pattern.setAttribute("patternTransform", "rotate(45)");
    var line = document.createElementNS(ns, "line");
    line.setAttribute("x1", "0");
    line.setAttribute("y1", "0");
    line.setAttribute("x2", "0");
    line.setAttribute("y2", "7");
    line.setAttribute("stroke", "#000000");
    line.setAttribute("stroke-width", "1.4");
    line.setAttribute("stroke-opacity", "0.45");
    pattern.appendChild(line);
    defs.appendChild(pattern);
    return id;
  };

  /** The desa's popup at a point (one popup for the map, so a redraw of the layer leaves it open). */
  GeoMap.openDesaPopup = function (map, feature, latlng, maxWidth) {
    var p = feature.properties || {};
    var at = latlng || L.latLng(p.label_lat, p.label_lon);
    var popup = L.popup({ maxWidth: maxWidth || 360, className: "desa-popup" })
      .setLatLng(at)
      .setContent(p.popup_html || "");
    popup._geoCode = p.code;
    map.closePopup(); // one popup at a time, whichever layer opened the last one
    popup.openOn(map);
    return popup;
  };

  /**
   * Outlines (kecamatan and kabupaten boundaries, the desa a page is about): drawn in a pane above the
   * desa fills that takes no clicks. ``casing`` ({color, weight, opacity, className}): each line drawn
   * first wider in that colour, under it (a dashed line then shows on any fill and on the boundaries below).
   */
  GeoMap.OutlineLayer = SourceLayer.extend({
    options: { className: "kecamatan-outline", color: "#222222", weight: 2.5, dashArray: null, onlyCode: null, casing: null },

    draw: function (data) {
      var o = this.options;
      var self = this;
      var passes = o.casing ? [L.extend({ dashArray: null }, o.casing), o] : [o];
      passes.forEach(function (line) {
        L.geoJSON(data, {
          pane: "geo-outlines",
          interactive: false,
          filter: function (feature) {
            return !o.onlyCode || (feature.properties && feature.properties.code === o.onlyCode);
          },
          style: function () {
            return {
              color: line.color,
              weight: line.weight,
              opacity: line.opacity === undefined ? 1 : line.opacity,
              fill: false,
              dashArray: line.dashArray,
              className: line.className,
              interactive: false,
            };
          },
          onEachFeature: function (feature, layer) {
            layer.on("add", function () {
              var path = layer.getElement && layer.getElement();
              if (path && feature.properties && feature.properties.code) path.setAttribute("data-code", feature.properties.code);
            });
          },
        }).eachLayer(function (layer) {
          self.addLayer(layer);
        });
      });
    },
  });

  /**
   * Names at each feature's label point (label_lon/label_lat), as text, in a pane that takes no
   * clicks. Labels that would overlap a label drawn before them are hidden (GeoMap.declutter): the
   * layer's ``priority`` orders layers (kecamatan names before desa names), larger areas first.
   */
  GeoMap.LabelLayer = SourceLayer.extend({
    options: { className: "desa", priority: 1, minZoom: 0, maxZoom: 99 },

    onAdd: function (map) {
      SourceLayer.prototype.onAdd.call(this, map);
      var labels = state(map).labels;
      if (labels.indexOf(this) < 0) labels.push(this);
      map.on("moveend", this._zoomVisibility, this);
      this._zoomVisibility();
    },

    onRemove: function (map) {
      var labels = state(map).labels;
      if (labels.indexOf(this) >= 0) labels.splice(labels.indexOf(this), 1);
      map.off("moveend", this._zoomVisibility, this);
      SourceLayer.prototype.onRemove.call(this, map);
    },

    _zoomVisibility: function () {
      if (!this._map) return;
      var z = this._map.getZoom();
      this.zoomHidden = z < this.options.minZoom || z > this.options.maxZoom;
      GeoMap.declutter(this._map);
    },

    draw: function (data) {
      var self = this;
      var items = features(data).map(function (f) {
        var p = f.properties || {};
        var size = 0;
        if (f.geometry && f.geometry.type !== "Point") {
          var b = L.geoJSON(f).getBounds();
          size = (b.getNorth() - b.getSouth()) * (b.getEast() - b.getWest());
        }
        return { p: p, size: size };
      });
      items.sort(function (a, b) {
        return b.size - a.size;
      });
      items.forEach(function (item) {
        var p = item.p;
        if (p.label_lat === undefined || p.label_lon === undefined) return;
        var div = element("div", "map-label " + self.options.className, p.name);
        div.setAttribute("data-code", p.code || "");
        var marker = L.marker([p.label_lat, p.label_lon], {
          icon: L.divIcon({ html: div, className: "map-label-icon", iconSize: [0, 0] }),
          interactive: false,
          keyboard: false,
          pane: "geo-labels",
        });
        self.addLayer(marker);
      });
      if (this._map) GeoMap.declutter(this._map);
    },
  });

  function rectsOverlap(a, b) {
    return !(a.right < b.left || b.right < a.left || a.bottom < b.top || b.bottom < a.top);
  }

  /** Hide labels that overlap one placed before them (layer priority, then the layer's own order). */
  GeoMap.declutter = function (map) {
    var layers = state(map).labels.slice().sort(function (a, b) {
      return a.options.priority - b.options.priority;
    });
    var placed = [];
    var size = map.getSize();
    layers.forEach(function (layer) {
      layer.eachLayer(function (marker) {
        var icon = marker.getElement && marker.getElement();
        var label = icon && icon.firstChild;
        if (!label) return;
        if (layer.zoomHidden) {
          label.classList.add("map-label-hidden");
          return;
        }
        var point = map.latLngToContainerPoint(marker.getLatLng());
        var w = label.offsetWidth;
        var h = label.offsetHeight;
        var rect = { left: point.x - w / 2 - 2, right: point.x + w / 2 + 2, top: point.y - h / 2, bottom: point.y + h / 2 };
        var outside = rect.right < 0 || rect.left > size.x || rect.bottom < 0 || rect.top > size.y;
        var clash = !outside && placed.some(function (other) {
          return rectsOverlap(rect, other);
        });
        label.classList.toggle("map-label-hidden", clash);
        if (!clash && !outside) placed.push(rect);
      });
    });
  };

  // --- point symbols: shapes in black and white, never a status colour -----------------------------------

  var SHAPES = {
    square: '<rect x="3" y="3" width="14" height="14" rx="1"/>',
    triangle: '<path d="M10 1.8 L18.6 17.6 L1.4 17.6 Z"/>',
    diamond: '<path d="M10 1 L19 10 L10 19 L1 10 Z"/>',
    circle: '<circle cx="10" cy="10" r="7.6"/>',
  };

  /** SVG markup of a symbol {shape, fill: "solid"|"open", mark: "" | "!" | "•", ink, paper} (the
   * shell's constants only, never data). */
  GeoMap.symbolSvg = function (symbol, size) {
    var solid = symbol.fill === "solid";
    var ink = symbol.ink || "#111111";
    var paper = symbol.paper || "#ffffff";
    var fill = solid ? ink : paper;
    var stroke = solid ? paper : ink;
    var markColor = solid ? paper : ink;
    var s = size || 20;
    var mark = "";
    if (symbol.mark === "!") {
      mark = '<rect x="9" y="7" width="2" height="6" fill="' + markColor + '"/>' +
        '<rect x="9" y="14" width="2" height="2" fill="' + markColor + '"/>';
    } else if (symbol.mark === "•") {
      mark = '<circle cx="10" cy="11" r="2.4" fill="' + markColor + '"/>';
    }
    return (
      '<svg class="geo-symbol" width="' + s + '" height="' + s + '" viewBox="0 0 20 20" aria-hidden="true">' +
      '<g fill="' + fill + '" stroke="' + stroke + '" stroke-width="1.6">' +
      (SHAPES[symbol.shape] || SHAPES.circle) + "</g>" + mark + "</svg>"
    );
  };

  /** The variant of a point: its ``symbol`` when known, else its severity, else secured/short. */
  function variantOf(props, symbols) {
    var keys = Object.keys(symbols);
    var candidates = [props.symbol, props.severity, props.secured === false ? "short" : props.secured === true ? "secured" : null];
    for (var i = 0; i < candidates.length; i += 1) {
      if (candidates[i] && symbols[candidates[i]]) return candidates[i];
    }
    return keys[0];
  }

  /**
   * TPS, incidents or rakor from /api/map/points/<kind>: one marker per point with its popup, or
   * (mode "clusters") a badge per group showing its count; a click on a badge zooms to its bounds.
   * ``total`` (points in the view) is kept for the legend and the tests.
   */
  GeoMap.PointLayer = SourceLayer.extend({
    options: { kind: "incidents", symbols: {}, maxZoom: 18 },

    draw: function (data) {
      var self = this;
      var kind = this.options.kind;
      this.mode = data.mode || "points";
      this.total = data.total;
      this.shown = 0;
      features(data).forEach(function (f) {
        if (!f.geometry || !f.geometry.coordinates) return;
        var c = f.geometry.coordinates;
        var latlng = L.latLng(c[1], c[0]);
        var p = f.properties || {};
        var single = Number(p.count) === 1 && p.popup_html;
        if (p.count !== undefined && !single) {
          self.addLayer(self._cluster(latlng, p));
          self.shown += Number(p.count) || 0;
        } else {
          self.addLayer(self._point(latlng, p));
          self.shown += 1;
        }
      });
      if (this.total === undefined) this.total = this.shown;
    },

    _point: function (latlng, p) {
      var variant = variantOf(p, this.options.symbols);
      var symbol = this.options.symbols[variant] || { shape: "circle", fill: "open" };
      var marker = L.marker(latlng, {
        icon: L.divIcon({
          html: GeoMap.symbolSvg(symbol, 20),
          className: "geo-point " + this.options.kind + "-marker symbol-" + variant,
          iconSize: [20, 20],
          iconAnchor: [10, 10],
          popupAnchor: [0, -8],
        }),
        keyboard: false,
        riseOnHover: true,
      });
      marker.geoProps = p;
      marker.bindPopup(p.popup_html || "", { maxWidth: 340 });
      return marker;
    },

    _cluster: function (latlng, p) {
      var map = this._map;
      var kind = this.options.kind;
      var first = this.options.symbols[Object.keys(this.options.symbols)[0]] || { shape: "circle", fill: "open" };
      var badge = element("div", "geo-cluster-badge");
      badge.innerHTML = GeoMap.symbolSvg(first, 14); // our own SVG constants
      element("span", "count", Number(p.count) || 0, badge);
      var marker = L.marker(latlng, {
        icon: L.divIcon({ html: badge, className: "geo-cluster geo-cluster-" + kind, iconSize: null }),
        keyboard: false,
        title: String(Number(p.count) || 0),
      });
      marker.geoCount = Number(p.count) || 0;
      marker.geoBounds = toBounds(p.bounds);
      var maxZoom = this.options.maxZoom;
      marker.on("click", function () {
        var b = marker.geoBounds;
        var degenerate = !b || b.getNorthEast().equals(b.getSouthWest());
        if (degenerate) {
          map.setView(latlng, Math.min(map.getZoom() + 2, maxZoom));
        } else {
          map.fitBounds(b, { padding: [24, 24], maxZoom: maxZoom });
        }
      });
      return marker;
    },
  });

  /** Incident heat from /api/map/heat ({points: [[lat, lon, weight], ...], max}). */
  GeoMap.HeatLayer = SourceLayer.extend({
    options: { radius: 22, blur: 18, minOpacity: 0.3, gradient: null },

    initialize: function (map, spec, options) {
      SourceLayer.prototype.initialize.call(this, map, spec, options);
      var heatOptions = { radius: this.options.radius, blur: this.options.blur, minOpacity: this.options.minOpacity };
      if (this.options.gradient) heatOptions.gradient = this.options.gradient;
      this._heat = L.heatLayer([], heatOptions);
    },

    _redraw: function (data) {
      // the heat canvas is kept (re-added it would flash); only its points change
      if (!this.hasLayer(this._heat)) this.addLayer(this._heat);
      var points = (data && data.points) || [];
      this._heat.setOptions({ max: (data && data.max) || 1 });
      this._heat.setLatLngs(points);
      this.total = points.length;
      this.drawn += 1;
      this.fire("drawn", { data: data });
    },

    onRemove: function (map) {
      SourceLayer.prototype.onRemove.call(this, map);
      this._heat.setLatLngs([]);
    },
  });

  // --- controls -------------------------------------------------------------------------------------------

  /** A small notice at the bottom of the map (base map missing, data not loaded); one per key. */
  GeoMap.notice = function (map, key, text) {
    if (!text) return;
    var st = state(map);
    if (!st.noticeBox) {
      var Box = L.Control.extend({
        options: { position: "bottomleft" },
        onAdd: function () {
          var div = L.DomUtil.create("div", "geo-notices");
          L.DomEvent.disableClickPropagation(div);
          return div;
        },
      });
      st.noticeBox = new Box().addTo(map).getContainer();
    }
    var existing = st.noticeBox.querySelector('[data-notice="' + key + '"]');
    if (existing) return;
    var note = element("div", "geo-notice", null, st.noticeBox);
    note.setAttribute("data-notice", key);
    note.setAttribute("role", "status");
    var close = element("button", "geo-notice-close", "×", note);
    close.type = "button";
    close.setAttribute("aria-label", "×");
    L.DomEvent.on(close, "click", function () {
      if (note.parentNode) note.parentNode.removeChild(note);
    });
    element("span", "geo-notice-text", text, note);
  };

  GeoMap.clearNotice = function (map, key) {
    var box = state(map).noticeBox;
    var note = box && box.querySelector('[data-notice="' + key + '"]');
    if (note) note.parentNode.removeChild(note);
  };

  /**
   * Legend: status colours with the number of desa in each (counts from a source), the planned
   * outline, and a line for every point symbol of a layer that is on the map, plus the heat ramp.
   * Collapsed (a "Legend" button) on small screens.
   */
  GeoMap.Legend = L.Control.extend({
    options: { position: "bottomright" },

    initialize: function (map, config) {
      L.setOptions(this, { position: config.position || "bottomright" });
      this._config = config;
      this._source = config.source ? GeoMap.source(map, config.source) : null;
    },

    onAdd: function (map) {
      var c = this._config;
      var box = L.DomUtil.create("details", "status-legend");
      L.DomEvent.disableClickPropagation(box);
      L.DomEvent.disableScrollPropagation(box);
      if (!isSmallScreen()) box.open = true;
      element("summary", "legend-summary", c.texts.legend, box);
      element("b", "legend-title", c.texts.title, box);
      c.statuses.forEach(function (s) {
        var row = element("div", "legend-row", null, box);
        row.setAttribute("data-status", s.key);
        var swatch = element("i", "swatch", null, row);
        swatch.style.background = s.color;
        if (s.pattern) {
          swatch.classList.add("pattern-" + s.pattern);
          swatch.style.backgroundImage =
            "repeating-linear-gradient(45deg, rgba(0,0,0,.45) 0 1.4px, transparent 1.4px 5px)";
        }
        row.appendChild(document.createTextNode(s.label + ": "));
        element("span", "count", "…", row);
      });
      if (c.planned) {
        var planned = element("div", "legend-row", null, box);
        planned.setAttribute("data-legend", "planned");
        var sw = element("i", "swatch", null, planned);
        sw.style.background = "#ffffff";
        sw.style.border = "2px dashed " + c.planned.color;
        planned.appendChild(document.createTextNode(c.planned.label));
      }
      if (c.shares) {
        // the roll-up's ramp: share of uncovered desa per kabupaten/kecamatan (zoomed out)
        var shares = element("div", "legend-shares", null, box);
        shares.setAttribute("data-legend", "shares");
        element("b", "legend-title", c.shares.title, shares);
        c.shares.classes.forEach(function (cls) {
          var row = element("div", "legend-row", null, shares);
          row.setAttribute("data-share-class", cls.label);
          var sw = element("i", "swatch", null, row);
          sw.style.background = cls.color;
          row.appendChild(document.createTextNode(cls.label));
        });
        var showShares = function () {
          shares.style.display = Math.round(map.getZoom()) > c.shares.maxZoom ? "none" : "";
        };
        map.on("zoomend", showShares);
        showShares();
      }
      this._symbols = element("div", "legend-symbols", null, box);
      this._box = box;
      this._map = map;
      map.on("layeradd layerremove", this._updateSymbols, this);
      var layers = state(map).layers;
      var self = this;
      (c.pointLayers || []).forEach(function (entry) {
        if (layers[entry.key]) layers[entry.key].on("drawn", self._updateSymbols, self);
      });
      this._updateSymbols();
      if (this._source) {
        this._source.on("data", this._onCounts, this);
        if (this._source.data()) this._onCounts({ data: this._source.data() });
        this._source.attach();
      }
      return box;
    },

    onRemove: function (map) {
      map.off("layeradd layerremove", this._updateSymbols, this);
      if (this._source) {
        this._source.off("data", this._onCounts, this);
        this._source.detach();
      }
    },

    _onCounts: function (e) {
      var data = e.data || {};
      var counts = data.counts || data.status_counts || data;
      var box = this._box;
      this._config.statuses.forEach(function (s) {
        var span = box.querySelector('[data-status="' + s.key + '"] .count');
        if (span) span.textContent = String(counts[s.key] === undefined ? 0 : counts[s.key]);
      });
    },

    _updateSymbols: function () {
      var map = this._map;
      var c = this._config;
      var layers = state(map).layers;
      var box = this._symbols;
      if (!box) return;
      box.textContent = "";
      var anyClusters = false;
      (c.pointLayers || []).forEach(function (entry) {
        var layer = layers[entry.key];
        if (!layer || !map.hasLayer(layer)) return;
        if (layer.mode === "clusters") anyClusters = true;
        Object.keys(entry.symbols).forEach(function (variant) {
          var symbol = entry.symbols[variant];
          var row = element("div", "legend-row legend-symbol", null, box);
          row.setAttribute("data-symbol", entry.kind + ":" + variant);
          var icon = element("span", "legend-icon", null, row);
          icon.innerHTML = GeoMap.symbolSvg(symbol, 16); // our own SVG constants
          row.appendChild(document.createTextNode(symbol.label));
        });
      });
      if (anyClusters && c.cluster) {
        var row = element("div", "legend-row legend-symbol", null, box);
        row.setAttribute("data-symbol", "cluster");
        var badge = element("span", "legend-icon geo-cluster-badge", null, row);
        element("span", "count", "12", badge);
        row.appendChild(document.createTextNode(c.cluster.label));
      }
      var heat = c.heat && layers[c.heat.key];
      if (heat && map.hasLayer(heat)) {
        var heatRow = element("div", "legend-row legend-heat", null, box);
        heatRow.setAttribute("data-symbol", "heat");
        var ramp = element("i", "heat-ramp", null, heatRow);
        ramp.style.background = c.heat.css;
        heatRow.appendChild(document.createTextNode(c.heat.label));
      }
    },
  });

  /** A search box over the desa names: typing lists matches; choosing one zooms to the desa,
   * outlines it (the previous outline is removed) and opens the desa's popup. The index is read from
   * the desa source for the whole area at a low zoom, once, when the box is first used. */
  GeoMap.DesaSearch = L.Control.extend({
    options: { position: "topleft" },

    initialize: function (map, config) {
      this._config = config;
      this._source = GeoMap.source(map, config.source);
      this._index = null;
      this._outline = null;
    },

    onAdd: function (map) {
      var c = this._config;
      var box = L.DomUtil.create("div", "leaflet-control-search geo-search leaflet-bar");
      L.DomEvent.disableClickPropagation(box);
      L.DomEvent.disableScrollPropagation(box);
      var input = element("input", "search-input", null, box);
      input.type = "search";
      input.placeholder = c.texts.placeholder;
      input.setAttribute("aria-label", c.texts.placeholder);
      input.setAttribute("autocomplete", "off");
      var list = element("ul", "search-tips", null, box);
      list.setAttribute("role", "listbox");
      this._input = input;
      this._list = list;
      this._map = map;
      var self = this;
      var typed = debounce(function () {
        self._show(input.value);
      }, 120);
      L.DomEvent.on(input, "focus", function () {
        self._load();
      });
      L.DomEvent.on(input, "input", function () {
        self._load().then(typed);
      });
      L.DomEvent.on(input, "keydown", function (e) {
        if (e.key === "Enter") {
          L.DomEvent.preventDefault(e);
          self._load().then(function () {
            self._show(input.value);
            var first = self._matches(input.value)[0];
            if (first) self.select(first);
          });
        } else if (e.key === "Escape") {
          self._clearTips();
        }
      });
      return box;
    },

    /** The index (every desa of the area), loaded once. */
    _load: function () {
      var self = this;
      if (this._loading) return this._loading;
      var source = this._source;
      var c = this._config;
      if (source.inline()) {
        this._index = features(source.inlineFor(c.indexZoom));
        this._loading = Promise.resolve(this._index);
        return this._loading;
      }
      var url = source.url(toBounds(c.bounds), c.indexZoom);
      this._loading = window
        .fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (r) {
          if (!r.ok) throw new Error("HTTP " + r.status);
          return r.json();
        })
        .then(function (data) {
          self._index = features(data);
          return self._index;
        })
        .catch(function (error) {
          self._loading = null;
          GeoMap.notice(self._map, "data-error", self._map._geoTexts.dataFailed);
          if (window.console && window.console.warn) window.console.warn("desa search:", error);
          return [];
        });
      return this._loading;
    },

    _normal: function (text) {
      return String(text || "")
        .toLowerCase()
        .normalize("NFD")
        .replace(/[\u0300-\u036f]/g, "")
        .trim();
    },

    _matches: function (text) {
      var q = this._normal(text);
      if (!q || !this._index) return [];
      var self = this;
      var starts = [];
      var contains = [];
      this._index.forEach(function (f) {
        var name = self._normal(f.properties && f.properties.name);
        if (name.indexOf(q) === 0) starts.push(f);
        else if (name.indexOf(q) > 0) contains.push(f);
      });
      return starts.concat(contains).slice(0, this._config.maxTips || 12);
    },

    _clearTips: function () {
      this._list.textContent = "";
    },

    _show: function (text) {
      var self = this;
      this._clearTips();
      var found = this._matches(text);
      if (!found.length && this._normal(text)) {
        element("li", "search-none", this._config.texts.none, this._list);
        return;
      }
      found.forEach(function (f) {
        var p = f.properties || {};
        var tip = element("li", "search-tip", p.name + " — " + (p.kecamatan_name || ""), self._list);
        tip.setAttribute("role", "option");
        tip.setAttribute("data-code", p.code || "");
        tip.tabIndex = 0;
        L.DomEvent.on(tip, "click", function (e) {
          // the tip is gone once chosen: Leaflet would no longer see it inside the control and take the
          // click for a click on the map (which closes popups)
          L.DomEvent.stop(e);
          self.select(f);
        });
        L.DomEvent.on(tip, "keydown", function (e) {
          if (e.key === "Enter") {
            L.DomEvent.stop(e);
            self.select(f);
          }
        });
      });
    },

    /** Zoom to a desa, outline it (removing the previous outline) and open its popup. */
    select: function (feature) {
      var map = this._map;
      var p = feature.properties || {};
      var outlineColor = this._config.outlineColor || "#000055";
      if (this._outline) map.removeLayer(this._outline);
      this._outline = L.geoJSON(feature, {
        pane: "geo-outlines",
        interactive: false,
        style: function () {
          return { color: outlineColor, weight: 4, fill: false, className: "search-outline", interactive: false };
        },
      }).addTo(map);
      var bounds = this._outline.getBounds();
      if (bounds.isValid()) map.fitBounds(bounds, { padding: [30, 30], maxZoom: 15, animate: false });
      this._clearTips();
      this._input.value = p.name || "";
      this._input.blur();
      state(map).userTouched = true;
      GeoMap.openDesaPopup(map, feature, L.latLng(p.label_lat, p.label_lon));
      map.fire("geo:search", { code: p.code });
    },
  });

  /** A link back (to the dashboard, or the kecamatan/desa page); hidden inside the dashboard's frame. */
  GeoMap.LinkBar = L.Control.extend({
    options: { position: "bottomleft" },

    initialize: function (map, config) {
      this._config = config;
    },

    onAdd: function (map) {
      var c = this._config;
      var bar = L.DomUtil.create("div", "geo-linkbar leaflet-bar");
      L.DomEvent.disableClickPropagation(bar);
      var framed = window.self !== window.top;
      if (c.back && !framed) {
        var back = element("a", "geo-back", c.back.label, bar);
        back.href = c.back.url;
        back.target = "_top";
      }
      var copy = element("a", "geo-copy-link", c.texts.copy, bar);
      copy.href = "#";
      copy.setAttribute("role", "button");
      L.DomEvent.on(copy, "click", function (e) {
        L.DomEvent.preventDefault(e);
        GeoMap.copyLink(map, copy, c.texts);
      });
      return bar;
    },
  });

  /** Copy this view's URL (with its hash) to the clipboard; when the clipboard is not available, show
   * the link selected so it can be copied by hand. */
  GeoMap.copyLink = function (map, button, texts) {
    GeoMap.writeState(map);
    var url = window.location.href;
    button.setAttribute("data-url", url);
    var done = function () {
      button.textContent = texts.copied;
      window.setTimeout(function () {
        button.textContent = texts.copy;
      }, 2000);
    };
    var manual = function () {
      var input = button.parentNode.querySelector("input.geo-link-text") || element("input", "geo-link-text", null, button.parentNode);
      input.value = url;
      input.readOnly = true;
      input.focus();
      input.select();
    };
    if (window.navigator.clipboard && window.isSecureContext) {
      window.navigator.clipboard.writeText(url).then(done, manual);
    } else {
      manual();
    }
  };

  // --- the view in the URL: #map=zoom/lat/lon&layers=a,b&base=x ------------------------------------------

  function parseHash() {
    var out = {};
    window.location.hash
      .replace(/^#/, "")
      .split("&")
      .forEach(function (part) {
        var i = part.indexOf("=");
        if (i > 0) out[decodeURIComponent(part.slice(0, i))] = decodeURIComponent(part.slice(i + 1));
      });
    return out;
  }
  GeoMap.parseHash = parseHash;

  GeoMap.readState = function () {
    var hash = parseHash();
    var out = {};
    if (hash.map) {
      var parts = hash.map.split("/").map(Number);
      if (parts.length === 3 && parts.every(isFinite)) out.view = { zoom: parts[0], center: [parts[1], parts[2]] };
    }
    if (hash.layers !== undefined) out.layers = hash.layers ? hash.layers.split(",") : [];
    if (hash.base) out.base = hash.base;
    return out;
  };

  GeoMap.writeState = function (map) {
    var st = state(map);
    if (!st.ready) return;
    var c = map.getCenter();
    var on = Object.keys(st.layers).filter(function (key) {
      return map.hasLayer(st.layers[key]);
    });
    var parts = ["map=" + round(map.getZoom(), 2) + "/" + round(c.lat, 5) + "/" + round(c.lng, 5), "layers=" + on.join(",")];
    var base = Object.keys(st.bases).filter(function (key) {
      return map.hasLayer(st.bases[key]);
    })[0];
    if (base && !st.autoBase) parts.push("base=" + base);
    var hash = "#" + parts.join("&");
    if (window.location.hash !== hash && window.history && window.history.replaceState) {
      window.history.replaceState(null, "", hash);
    }
  };

  /**
   * Before any layer: the panes, and the starting view (the URL's hash, else the area fitted to
   * the frame), so that no data is asked for a view the page will not show.
   * config: {bounds: [minlon, minlat, maxlon, maxlat], texts}
   */
  GeoMap.prepare = function (map, config) {
    var st = state(map);
    GeoMap.setup(map, config.texts);
    var saved = GeoMap.readState();
    var bounds = toBounds(config.bounds);
    st.saved = saved;
    st.fit = function () {
      if (!bounds) return;
      map.invalidateSize(false);
      map.fitBounds(bounds, { padding: [6, 6], animate: false });
    };
    if (saved.view) {
      map.setView(saved.view.center, saved.view.zoom, { animate: false });
      st.userTouched = true;
    } else {
      st.fit();
    }
  };

  /** A data layer under a short key (used in the URL), shown at start or not. */
  GeoMap.register = function (map, key, layer, show) {
    var st = state(map);
    st.layers[key] = layer;
    st.defaults = st.defaults || {};
    st.defaults[key] = !!show;
  };

  /** The data layers of ``map`` by key (desa, kecamatan, tps, incidents, ...). */
  GeoMap.layers = function (map) {
    return state(map).layers;
  };

  /** A base layer under a short key. */
  GeoMap.registerBase = function (map, key, layer) {
    state(map).bases[key] = layer;
  };

  /**
   * After every layer and control: the layers (and base map) named in the URL's hash or the
   * defaults, URL updates on every change, and point layers shown by themselves once the user zooms
   * in to ``autoZoom`` (unless switched by hand, or named in the URL).
   * config: {autoLayers: [key], autoZoom}
   */
  GeoMap.start = function (map, config) {
    var st = state(map);
    var saved = st.saved || GeoMap.readState();
    Object.keys(st.layers).forEach(function (key) {
      var want = saved.layers ? saved.layers.indexOf(key) >= 0 : st.defaults[key];
      if (want && !map.hasLayer(st.layers[key])) map.addLayer(st.layers[key]);
      if (!want && map.hasLayer(st.layers[key])) map.removeLayer(st.layers[key]);
    });
    if (saved.base && st.bases[saved.base]) {
      Object.keys(st.bases).forEach(function (key) {
        if (key !== saved.base && map.hasLayer(st.bases[key])) map.removeLayer(st.bases[key]);
      });
      if (!map.hasLayer(st.bases[saved.base])) map.addLayer(st.bases[saved.base]);
    }
    (config.autoLayers || []).forEach(function (key) {
      if (st.layers[key]) st.autoLayers[key] = !saved.layers;
    });
    var programmatic = false;
    map.on("overlayadd overlayremove", function (e) {
      if (programmatic) return;
      Object.keys(st.layers).forEach(function (key) {
        if (st.layers[key] === e.layer) st.autoLayers[key] = false;
      });
    });
    var autoZoom = config.autoZoom || 99;
    map.on("zoomend", function () {
      var zoom = map.getZoom();
      programmatic = true;
      Object.keys(st.autoLayers).forEach(function (key) {
        if (!st.autoLayers[key]) return;
        var layer = st.layers[key];
        if (zoom >= autoZoom && !map.hasLayer(layer)) map.addLayer(layer);
        if (zoom < autoZoom && map.hasLayer(layer)) map.removeLayer(layer);
      });
      programmatic = false;
    });
    // refit to the frame's real size until the user moves the map (a frame may size itself late)
    map.on("dragstart", function () {
      st.userTouched = true;
    });
    map.on("zoomstart", function () {
      if (!st.fitting) st.userTouched = true;
    });
    window.addEventListener(
      "resize",
      debounce(function () {
        if (st.userTouched) return;
        st.fitting = true;
        st.fit();
        st.fitting = false;
      }, 150)
    );
    st.ready = true;
    var write = debounce(function () {
      GeoMap.writeState(map);
    }, 150);
    map.on("moveend overlayadd overlayremove baselayerchange", write);
    GeoMap.writeState(map);
    map.fire("geo:ready");
  };

  /** When base-map tiles fail to load (no internet), switch to "no base map" and say so. */
  GeoMap.tileFallback = function (map, tiles, noBase, text, errorsBeforeSwitch) {
    var st = state(map);
    var failures = 0;
    var loaded = 0;
    var limit = errorsBeforeSwitch || 3;
    tiles.on("tileload", function () {
      loaded += 1;
    });
    tiles.on("tileerror", function () {
      failures += 1;
      if (loaded === 0 && failures >= limit && map.hasLayer(tiles)) {
        st.autoBase = true;
        map.removeLayer(tiles);
        map.addLayer(noBase);
        GeoMap.notice(map, "no-tiles", text);
        map.fire("geo:notiles");
      }
    });
    map.on("baselayerchange", function (e) {
      if (e.layer === tiles) {
        st.autoBase = false;
        failures = 0;
        GeoMap.clearNotice(map, "no-tiles");
      }
    });
  };

  /** The layer control starts collapsed on small screens. */
  GeoMap.layerControl = function (map, bases, overlays, options) {
    var opts = L.extend({}, options || {}, { collapsed: isSmallScreen() });
    return L.control.layers(bases, overlays, opts).addTo(map);
  };
})(window, document, L);
