/* parkcarbon dashboard charts: Apache ECharts from the npm registry (static/vendor), no CDN.
   Every chart reads the page's JSON (<script id="page-data">) made by the server from the same
   service objects as the reports and the API; missing values stay null (gaps), never 0. */
(function () {
  "use strict";
  var el = document.getElementById("page-data");
  if (!el || typeof echarts === "undefined") { return; }
  var page = JSON.parse(el.textContent);
  var d = page.d, en = page.lang === "en";
  var dark = document.body.classList.contains("screen");
  function t(zh, e) { return en ? e : zh; }
  var PALETTE = ["#5ce1e6", "#2e86c1", "#f5b041", "#48c9b0", "#e74c3c", "#8e44ad", "#27ae60", "#d35400", "#7f8c8d", "#34495e"];
  var base = { color: PALETTE, backgroundColor: "transparent", textStyle: { color: dark ? "#dce6f2" : "#1d2733" },
               tooltip: { trigger: "axis" }, grid: { left: 60, right: 20, top: 40, bottom: 40 }, animation: false };
  function axisStyle() { return { axisLabel: { color: dark ? "#9fb6cf" : "#556" }, splitLine: { lineStyle: { color: dark ? "#16406f" : "#e5e8ec" } } }; }
  function merge(a, b) { var o = {}; var k; for (k in a) { o[k] = a[k]; } for (k in b) { o[k] = b[k]; } return o; }
  function round(v, n) { return v === null || v === undefined ? null : Math.round(v * Math.pow(10, n)) / Math.pow(10, n); }
  var builders = {
    trend: function () {
      var years = d.trend.map(function (p) { return String(p.year); });
      return { legend: { top: 0, textStyle: { color: base.textStyle.color } }, grid: { left: 70, right: 80, top: 40, bottom: 40 },
        xAxis: merge({ type: "category", data: years }, axisStyle()),
        yAxis: [merge({ type: "value", name: "tce" }, axisStyle()), merge({ type: "value", name: "tCO2" }, axisStyle())],
        series: [
          { name: t("综合能耗", "Energy") + " [tce]", type: "bar", data: d.trend.map(function (p) { return round(p.energy_tce, 0); }) },
          { name: t("排放(位置)", "CO2 location"), type: "line", yAxisIndex: 1, data: d.trend.map(function (p) { return round(p.total_location_tco2, 0); }) },
          { name: t("排放(市场)", "CO2 market"), type: "line", yAxisIndex: 1, data: d.trend.map(function (p) { return round(p.total_market_tco2, 0); }) }] };
    },
    monthly: function () {
      return { xAxis: merge({ type: "category", data: d.monthly_energy_tce.map(function (m) { return m[0].slice(5); }) }, axisStyle()),
        yAxis: merge({ type: "value", name: "tce" }, axisStyle()),
        series: [{ name: "tce", type: "bar", data: d.monthly_energy_tce.map(function (m) { return round(m[1], 0); }) }] };
    },
    structure: function () {
      return { tooltip: { trigger: "item", formatter: "{b}: {c} tce ({d}%)" },
        series: [{ type: "pie", radius: ["35%", "70%"], label: { color: base.textStyle.color },
          data: d.structure.map(function (s) { return { name: en ? s.name_en : s.name_zh, value: round(s.energy_tce, 0) }; }) }] };
    },
    top: function () {
      var rows = d.enterprises.slice(0, 10).reverse();
      return { grid: { left: 150, right: 30, top: 10, bottom: 30 }, tooltip: { trigger: "axis" },
        xAxis: merge({ type: "value", name: "tce" }, axisStyle()),
        yAxis: merge({ type: "category", data: rows.map(function (r) { return r.enterprise_id + " " + r.name.slice(0, 8); }) }, axisStyle()),
        series: [{ type: "bar", data: rows.map(function (r) { return { value: round(r.energy_tce, 0), id: r.enterprise_id }; }) }] };
    },
    industry: function () {
      return { tooltip: { trigger: "item", formatter: "{b}: {c} tce ({d}%)" },
        series: [{ type: "pie", radius: "65%", label: { color: base.textStyle.color },
          data: d.industries.map(function (r) { return { name: r.industry_code + " (" + r.enterprises + ")", value: round(r.energy_tce, 0) }; }) }] };
    },
    green: function () {
      var g = d.green;
      var share = g.green_share_frac === null ? null : round(100 * g.green_share_frac, 1);
      var pv = g.onsite_share_frac === null ? null : round(100 * g.onsite_share_frac, 1);
      return { tooltip: { trigger: "item" },
        series: [
          { type: "gauge", center: ["26%", "58%"], radius: "70%", min: 0, max: 100, detail: { formatter: "{value}%", color: base.textStyle.color, fontSize: 18 },
            title: { color: base.textStyle.color }, data: [{ value: share, name: t("绿电占外购电", "Green share") }] },
          { type: "gauge", center: ["75%", "58%"], radius: "70%", min: 0, max: 100, detail: { formatter: "{value}%", color: base.textStyle.color, fontSize: 18 },
            title: { color: base.textStyle.color }, data: [{ value: pv, name: t("光伏自发占比", "On-site PV share") }] }] };
    },
    flow: function () {
      var f = d.flow;
      if (!f) { return null; }
      return { tooltip: { trigger: "item", formatter: function (p) { return p.dataType === "edge" ? p.data.source + " → " + p.data.target + ": " + p.data.value + " tce" : p.name; } },
        series: [{ type: "sankey", left: 10, right: 160, nodeGap: 6, emphasis: { focus: "adjacency" }, lineStyle: { color: "gradient", curveness: 0.5, opacity: 0.4 },
          label: { color: base.textStyle.color, fontSize: 11 },
          data: f.nodes.map(function (n) { return { name: n }; }),
          links: f.links.map(function (l) { return { source: l.source, target: l.target, value: round(l.value_tce, 1) }; }) }] };
    },
    "ent-monthly": function () {
      var codes = Object.keys(d.energy_by_month_carrier);
      return { legend: { top: 0 }, xAxis: merge({ type: "category", data: d.months.map(function (m) { return m.slice(5); }) }, axisStyle()),
        yAxis: merge({ type: "value", name: "tce" }, axisStyle()),
        series: codes.map(function (c) { return { name: c, type: "bar", stack: "e", data: d.energy_by_month_carrier[c].map(function (v) { return round(v, 2); }) }; }) };
    },
    "ent-scopes": function () {
      return { tooltip: { trigger: "axis" }, legend: { top: 0 },
        xAxis: merge({ type: "category", data: [t("基于位置", "Location-based"), t("基于市场", "Market-based")] }, axisStyle()),
        yAxis: merge({ type: "value", name: "tCO2" }, axisStyle()),
        series: [{ name: t("范围一", "Scope 1"), type: "bar", stack: "s", data: [round(d.scope1_tco2, 1), round(d.scope1_tco2, 1)] },
                 { name: t("范围二", "Scope 2"), type: "bar", stack: "s", data: [round(d.scope2_location_tco2, 1), round(d.scope2_market_tco2, 1)] }] };
    },
    "ent-trend": function () {
      return builders.trend();
    },
    "ent-structure": function () {
      return builders.structure();
    }
  };
  var charts = [];
  document.querySelectorAll("[data-chart]").forEach(function (node) {
    var make = builders[node.getAttribute("data-chart")];
    var opt = make ? make() : null;
    if (!opt) { return; }
    var chart = echarts.init(node, null, { renderer: "canvas" });
    chart.setOption(merge(base, opt));
    if (node.getAttribute("data-chart") === "top") {
      chart.on("click", function (p) { if (p.data && p.data.id) { window.location = window.location.pathname.replace(/\/parks\/.*$/, "/enterprises/" + p.data.id) + "?year=" + d.year; } });
    }
    node.setAttribute("data-rendered", "1");
    charts.push(chart);
  });
  window.addEventListener("resize", function () { charts.forEach(function (c) { c.resize(); }); });
  window.parkcarbonCharts = charts;
}());
