/* report.html: filters, the evidence panel, links to tests. Plain JS, no network. */
(function () {
  "use strict";
  var DATA = null;
  function data() {
    if (DATA === null) DATA = JSON.parse(document.getElementById("evidence-data").textContent);
    return DATA;
  }
  function $(sel, root) { return (root || document).querySelector(sel); }
  function $$(sel, root) { return Array.prototype.slice.call((root || document).querySelectorAll(sel)); }
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function show(v) {
    if (v === null || v === undefined) return "-";
    if (typeof v === "string") return v;
    if (Array.isArray(v) && v.every(function (x) { return typeof x !== "object"; })) return v.join(", ");
    return JSON.stringify(v, null, 1);
  }
  function gradeClass(g) { return g === "skipped" ? "g-skip" : "g-" + g.replace(" ", "-"); }
  function same(a, b) { return JSON.stringify(a) === JSON.stringify(b); }
  function cell(i) {
    var row = data().cells[i], fields = data().cellFields, out = {};
    fields.forEach(function (f, k) { out[f] = row[k]; });
    return out;
  }

  /* ---- the evidence panel ---------------------------------------------------------------- */
  var panel = $("#panel"), body = $("#panel-body"), title = $("#panel-title");
  function section(name) { body.appendChild(el("h4", null, name)); }
  function kvTable(rows, cls) {
    var t = el("table", "eo" + (cls ? " " + cls : ""));
    rows.forEach(function (r) {
      var tr = el("tr", r[2] ? "diff" : null);
      tr.appendChild(el("th", null, r[0]));
      var td = el("td");
      var text = show(r[1]);
      if (text.indexOf("\n") >= 0) td.appendChild(el("pre", null, text)); else td.textContent = text;
      tr.appendChild(td);
      t.appendChild(tr);
    });
    body.appendChild(t);
  }
  function expectedObserved(ev) {
    var exp = ev.expected, obs = ev.observed;
    if (exp && obs && typeof exp === "object" && typeof obs === "object" && !Array.isArray(exp) && !Array.isArray(obs)) {
      var t = el("table", "eo"), head = el("tr");
      ["call", "expected", "observed"].forEach(function (h) { head.appendChild(el("th", null, h)); });
      t.appendChild(head);
      Object.keys(Object.assign({}, exp, obs)).forEach(function (k) {
        var tr = el("tr", same(exp[k], obs[k]) ? null : "diff");
        tr.appendChild(el("th", null, k));
        tr.appendChild(el("td", null, show(exp[k])));
        tr.appendChild(el("td", null, show(obs[k])));
        t.appendChild(tr);
      });
      body.appendChild(t);
      return;
    }
    var differ = !same(exp, obs) && !(Array.isArray(exp) && exp.indexOf(obs) >= 0);
    kvTable([["expected", exp, differ], ["observed", obs, differ]]);
  }
  function openEvidence(testIndex, cellIndex) {
    var d = data(), t = testIndex >= 0 ? d.tests[testIndex] : null, c = cellIndex >= 0 ? cell(cellIndex) : null;
    var ev = t ? Object.assign({}, t.evidence || {}) : {};
    if (t && t.token >= 0) ev.claims = d.tokens[t.token];
    body.textContent = "";
    title.textContent = c ? c.token_shape + " on " + c.api.split("/").pop() + " (" + c.namespace_column + ")" : (t ? t.requirement : "Evidence");
    var head = el("p");
    if (t) {
      var b = el("span", "badge " + gradeClass(t.grade), t.grade);
      head.appendChild(b);
      head.appendChild(document.createTextNode(" " + t.requirement + " " + (d.titles[t.requirement] || "")));
      head.appendChild(el("br"));
      var a = el("a", "nodeid", t.nodeid);
      a.href = "#" + t.id;
      head.appendChild(a);
      head.appendChild(el("span", null, " (" + t.duration + ")"));
    }
    body.appendChild(head);
    if (c) {
      var shape = d.shapes[c.token_shape] || {};
      section("cell");
      kvTable([
        ["method", c.api],
        ["token shape", c.token_shape + (shape.claims && shape.claims !== c.token_shape ? ": " + shape.claims : "") + (shape.note ? " (" + shape.note + ")" : "")],
        ["probe namespace", c.namespace_column + (c.namespace ? " (" + c.namespace + ")" : "")],
        ["surface", c.surface],
        ["verdict", c.verdict]
      ]);
      if (!t) {
        section("expected and observed");
        kvTable([["expected", c.expected], ["observed", c.observed, c.expected.indexOf(c.observed) < 0], ["status", c.status]]);
      }
    }
    if (!t) { openPanel(); return; }
    section("expected (the model) and observed (the server)");
    expectedObserved(ev);
    if (ev.reason) {
      section("the model's reason");
      var ul = el("ul", "reasons");
      String(ev.reason).split("; ").forEach(function (r) { ul.appendChild(el("li", null, r)); });
      body.appendChild(ul);
    }
    var server = (ev.extra || {}).server;
    if (ev.status || ev.message || server) {
      section("the server answered");
      var rows = [];
      if (ev.status) rows.push(["status", ev.status]);
      if (ev.message) rows.push(["message", ev.message]);
      if (server && typeof server === "object") Object.keys(server).forEach(function (k) { rows.push([k, server[k]]); });
      else if (server) rows.push(["server", server]);
      kvTable(rows);
    }
    if (ev.claims) {
      section("the token (decoded claims)");
      var cl = ev.claims, crow = [];
      if (cl && typeof cl === "object" && ("claims" in cl || "header" in cl)) {
        if (cl.header) crow.push(["header", cl.header]);
        if ("claims" in cl) crow.push(["claims", cl.claims]);
        Object.keys(cl).forEach(function (k) { if (k !== "header" && k !== "claims") crow.push([k.replace("_", " "), cl[k]]); });
      } else crow.push(["token", cl]);
      kvTable(crow);
    }
    if (ev.presentation) {
      section("how the token was carried");
      kvTable((Array.isArray(ev.presentation) ? ev.presentation : [ev.presentation]).map(function (p, i) { return ["#" + (i + 1), p]; }));
    }
    var rest = [];
    ["api", "surface", "namespace", "finding_holds"].forEach(function (k) { if (k in ev) rest.push([k.replace("_", " "), ev[k]]); });
    Object.keys(ev.extra || {}).forEach(function (k) { if (k !== "server") rest.push([k.replace("_", " "), ev.extra[k]]); });
    var known = ["expected", "observed", "reason", "status", "message", "extra", "claims", "presentation", "api", "surface", "namespace", "finding_holds"];
    Object.keys(ev).forEach(function (k) { if (known.indexOf(k) < 0) rest.push([k.replace("_", " "), ev[k]]); });
    if (rest.length) { section("more evidence"); kvTable(rest); }
    if (t.message) { section("message"); body.appendChild(el("pre", null, t.message)); }
    openPanel();
  }
  function openPanel() { panel.classList.add("open"); panel.setAttribute("aria-hidden", "false"); panel.scrollTop = 0; }
  function closePanel() {
    panel.classList.remove("open");
    panel.setAttribute("aria-hidden", "true");
    $$(".sel").forEach(function (e) { e.classList.remove("sel"); });
  }
  $("#panel-close").addEventListener("click", closePanel);
  document.addEventListener("keydown", function (e) { if (e.key === "Escape") closePanel(); });

  /* ---- clicks: cells, test rows, test links ------------------------------------------------ */
  function select(node) {
    $$(".sel").forEach(function (e) { e.classList.remove("sel"); });
    if (node) node.classList.add("sel");
  }
  var grid = $("#grid");
  if (grid) {
    grid.addEventListener("click", function (e) {
      var td = e.target.closest("td.c");
      if (!td) return;
      var i = +td.getAttribute("data-c");
      select(td);
      openEvidence(data().cells[i][data().cellFields.indexOf("test")], i);
    });
    grid.addEventListener("mouseover", function (e) {
      var td = e.target.closest("td.c");
      if (!td || td.title) return;
      var c = cell(+td.getAttribute("data-c"));
      td.title = c.token_shape + " on " + c.api + " (" + c.namespace_column + "): expected " + c.expected +
        ", observed " + c.observed + (c.status ? " (" + c.status + ")" : "");
    });
  }
  function goToTest(id) {
    var row = document.getElementById(id);
    if (!row || !row.hasAttribute("data-t")) return;
    var tests = $("#tests");
    if (row.classList.contains("gc") && !tests.classList.contains("with-grid")) {
      tests.classList.add("with-grid");
      var box = $("#with-grid");
      if (box) box.checked = true;
    }
    if (row.style.display === "none") row.style.display = "";
    select(row);
    row.scrollIntoView({ block: "center" });
    openEvidence(+row.getAttribute("data-t"), -1);
  }
  document.addEventListener("click", function (e) {
    var a = e.target.closest("a[href^='#test-']");
    if (a) {
      e.preventDefault();
      var id = a.getAttribute("href").slice(1);
      if (location.hash !== "#" + id) history.pushState(null, "", "#" + id);
      goToTest(id);
      return;
    }
    var tr = e.target.closest("tr.t");
    if (tr) { select(tr); openEvidence(+tr.getAttribute("data-t"), -1); }
  });
  function fromHash() { if (location.hash.indexOf("#test-") === 0) goToTest(decodeURIComponent(location.hash.slice(1))); }
  window.addEventListener("hashchange", fromHash);
  window.addEventListener("popstate", fromHash);

  /* ---- filters ---------------------------------------------------------------------------- */
  var dyn = document.createElement("style");
  document.head.appendChild(dyn);
  function value(id) { var e = document.getElementById(id); return e ? e.value : ""; }
  function applyFilters() {
    var surface = value("f-surface"), grade = value("f-grade"), text = value("f-text").trim().toLowerCase();
    var shape = value("f-shape"), column = value("f-column");
    var css = "";
    if (shape !== "") css += "#grid [data-h]:not([data-h='" + shape + "']){display:none}";
    if (column !== "") css += "#grid [data-k]:not([data-k='" + column + "']){display:none}";
    dyn.textContent = css;
    $$("#grid th.nscol").forEach(function (th) { th.colSpan = shape !== "" ? 1 : +th.getAttribute("data-w"); });
    var shownRows = 0, allRows = 0;
    $$("#grid tbody.group").forEach(function (group) {
      var visible = 0;
      $$("tr.gr", group).forEach(function (tr) {
        allRows++;
        var ok = (!surface || tr.getAttribute("data-surface") === surface) && (!text || tr.getAttribute("data-api").indexOf(text) >= 0);
        var any = false;
        $$("td.c", tr).forEach(function (td) {
          var inView = (shape === "" || td.getAttribute("data-h") === shape) && (column === "" || td.getAttribute("data-k") === column);
          var match = !grade || td.classList.contains(grade);
          td.classList.toggle("dim", !match);
          if (inView && match) any = true;
        });
        ok = ok && (any || !grade);
        tr.style.display = ok ? "" : "none";
        if (ok) { visible++; shownRows++; }
      });
      group.style.display = visible ? "" : "none";
    });
    var shapeName = shape !== "" ? ($("#f-shape").options[$("#f-shape").selectedIndex].text) : "";
    var shown = 0, all = 0;
    $$("#tests tr.t").forEach(function (tr) {
      all++;
      var name = tr.id.toLowerCase() + " " + tr.textContent.toLowerCase();
      var ok = (!grade || tr.classList.contains(grade === "mm" ? "g-fail" : grade)) && (!surface || tr.getAttribute("data-s") === surface) &&
        (!text || name.indexOf(text) >= 0) && (!shapeName || !tr.hasAttribute("data-shape") || tr.getAttribute("data-shape") === shapeName);
      tr.style.display = ok ? "" : "none";
      if (ok) shown++;
    });
    var count = $("#f-count");
    if (count) count.textContent = (allRows ? shownRows + " of " + allRows + " grid methods, " : "") + shown + " of " + all + " tests";
  }
  ["f-surface", "f-grade", "f-shape", "f-column"].forEach(function (id) {
    var e = document.getElementById(id);
    if (e) e.addEventListener("change", applyFilters);
  });
  var textBox = document.getElementById("f-text");
  if (textBox) textBox.addEventListener("input", applyFilters);
  var withGrid = document.getElementById("with-grid");
  if (withGrid) withGrid.addEventListener("change", function () { $("#tests").classList.toggle("with-grid", withGrid.checked); });
  $$(".legend .item[data-grade]").forEach(function (item) {
    item.addEventListener("click", function () {
      var g = $("#f-grade");
      g.value = g.value === item.getAttribute("data-grade") ? "" : item.getAttribute("data-grade");
      applyFilters();
      $("#filters").scrollIntoView({ block: "start" });
    });
  });
  var bar = $("#filters"), cols = $("#grid tr.cols th.nscol");
  if (bar) document.documentElement.style.setProperty("--bar-h", bar.offsetHeight + "px");
  if (cols) document.documentElement.style.setProperty("--cols-h", cols.offsetHeight + "px");
  if (window.requestIdleCallback) window.requestIdleCallback(data); else setTimeout(data, 500);
  applyFilters();
  fromHash();
})();
