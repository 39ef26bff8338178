// trailhound: draw every chart of the page from its JSON data block. No data is ever code here:
// each block is parsed with JSON.parse and handed to ECharts as an option object.
(function () {
  'use strict';
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
