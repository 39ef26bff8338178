// trailhound: open a folded table when a link points into it (Chromium does so itself; other
// browsers may not), and draw every chart of the page from its JSON data block. No data is ever
// code here: each block is parsed with JSON.parse and handed to ECharts as an option object.
(function () {
  'use strict';
  function reveal() {
    var id = location.hash.slice(1);
    try {
      id = decodeURIComponent(id);
    } catch (e) {
      return;
    }
    var target = id ? document.getElementById(id) : null;
    if (!target) {
      return;
    }
    var folded = false;
    for (var d = target.parentElement; d; d = d.parentElement) {
      if (d.tagName === 'DETAILS' && !d.open) {
        d.open = true;
        folded = true;
      }
    }
    if (folded) {
      target.scrollIntoView();
    }
  }
  window.addEventListener('hashchange', reveal);
  reveal();
  if (typeof echarts === 'undefined') {
    return;
  }
  var charts = [];
  var nodes = document.querySelectorAll('div.th-chart');
  for (var i = 0; i < nodes.length; i++) {
    var el = nodes[i];
    var block = document.getElementById(el.id + '-options');
    if (!block) {
      continue;
    }
    var chart = echarts.init(el, null, { renderer: 'canvas' });
    chart.setOption(JSON.parse(block.textContent));
    el.setAttribute('data-rendered', 'true');
    charts.push(chart);
  }
  window.addEventListener('resize', function () {
    for (var j = 0; j < charts.length; j++) {
      charts[j].resize();
    }
  });
})();
