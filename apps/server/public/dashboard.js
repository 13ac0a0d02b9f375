// syncap dashboard: live over Server-Sent Events (/events). Plain browser JS, no build step.
/* global uPlot */
(() => {
  const HISTORY = 240; // ticks kept (2 minutes at 2 ticks/s)
  const $ = (s) => document.querySelector(s);
  const us = (ns) => (ns == null ? '–' : `${(ns / 1000).toFixed(1)} µs`);
  const spanData = [[], [], []];
  let phaseSeries = []; // node ids, in chart order
  let phaseData = [[]];
  const palette = ['#2563eb', '#dc2626', '#16a34a', '#9333ea', '#ea580c', '#0891b2', '#be185d', '#65a30d'];

  const spanChart = new uPlot(
    {
      width: 560,
      height: 240,
      series: [{}, { label: 'p50', stroke: '#2563eb', width: 2 }, { label: 'max', stroke: '#dc2626', width: 1 }],
      axes: [{}, { label: 'µs' }],
    },
    spanData,
    $('#span-chart'),
  );
  let phaseChart = null;

  function rebuildPhaseChart(ids) {
    phaseSeries = ids;
    phaseData = [phaseData[0] ?? [], ...ids.map(() => new Array((phaseData[0] ?? []).length).fill(null))];
    if (phaseChart) phaseChart.destroy();
    phaseChart = new uPlot(
      {
        width: 560,
        height: 240,
        series: [{}, ...ids.map((id, i) => ({ label: id, stroke: palette[i % palette.length], width: 2 }))],
        axes: [{}, { label: 'µs' }],
      },
      phaseData,
      $('#phase-chart'),
    );
  }
  rebuildPhaseChart([]);

  function push(arrays, values) {
    arrays.forEach((a, i) => {
      a.push(values[i]);
      if (a.length > HISTORY) a.shift();
    });
  }

  const STATE_CLASS = { connected: 'good', reconnecting: 'warn', departed: 'gone' };
  const phaseLockText = (n) => (n.phaseLock == null ? '–' : n.phaseLock.enabled ? `${n.phaseLock.locked}/${n.phaseLock.cameras} locked` : 'off');

  function renderNodes(nodes, reference) {
    const body = $('#nodes tbody');
    body.replaceChildren(
      ...nodes.map((n) => {
        const tr = document.createElement('tr');
        tr.dataset.node = n.nodeId;
        tr.dataset.state = n.state;
        const drops = Object.values(n.drops).reduce((a, b) => a + b, 0);
        const cells = [
          n.nodeId + (n.nodeId === reference ? ' (ref)' : ''),
          n.state,
          n.ptp.state,
          phaseLockText(n),
          us(n.ptp.offsetNs),
          n.channelOffsetNs == null ? '–' : `${us(n.channelOffsetNs)} ± ${us(n.channelErrorNs)}`,
          us(n.residualPhaseNs),
          n.driftPpm == null ? '–' : `${n.driftPpm.toFixed(2)} ppm`,
          n.cameras.map((c) => `${c.id}@${c.fps}`).join(' '),
          String(drops),
          String(n.groupsReceived),
        ];
        cells.forEach((text, i) => {
          const td = document.createElement('td');
          td.textContent = text;
          if (i === 1) td.className = STATE_CLASS[n.state] ?? '';
          if (i === 2 && n.ptpDisagrees) td.className = 'bad';
          tr.appendChild(td);
        });
        return tr;
      }),
    );
  }

  // Camera tiles, kept across ticks (an image is fetched again only when its version changes).
  const tiles = new Map(); // node/camera → { figure, media, caption, version }

  function tileFor(id) {
    let tile = tiles.get(id);
    if (!tile) {
      const figure = document.createElement('figure');
      figure.dataset.camera = id;
      const caption = document.createElement('figcaption');
      figure.append(document.createElement('div'), caption);
      tile = { figure, media: figure.firstChild, caption, version: undefined };
      tiles.set(id, tile);
    }
    return tile;
  }

  function showPlaceholder(tile, text) {
    if (tile.media.tagName !== 'DIV') {
      const div = document.createElement('div');
      tile.media.replaceWith(div);
      tile.media = div;
    }
    tile.media.className = 'placeholder';
    tile.media.textContent = text;
    tile.version = undefined;
  }

  function showThumbnail(tile, nodeId, cameraId, thumbnail) {
    if (tile.media.tagName !== 'IMG') {
      const img = document.createElement('img');
      img.alt = `${nodeId}/${cameraId}`;
      img.onerror = () => showPlaceholder(tile, 'image unavailable');
      tile.media.replaceWith(img);
      tile.media = img;
    }
    if (tile.version === thumbnail.version) return;
    tile.version = thumbnail.version;
    tile.media.width = thumbnail.width;
    tile.media.height = thumbnail.height;
    tile.media.dataset.version = String(thumbnail.version);
    tile.media.src = `/api/thumbnails/${encodeURIComponent(nodeId)}/${encodeURIComponent(cameraId)}.jpg?v=${thumbnail.version}`;
  }

  function renderCameras(nodes, cameraFps, thumbnails) {
    const wanted = [];
    for (const n of nodes) {
      if (n.state === 'departed') continue;
      for (const c of n.cameras) {
        const id = `${n.nodeId}/${c.id}`;
        const tile = tileFor(id);
        wanted.push(tile.figure);
        tile.figure.dataset.state = n.state;
        const thumbnail = thumbnails[id];
        // A camera that sends none (the node says why: H264, timing only), or whose first has not come yet.
        if (thumbnail) showThumbnail(tile, n.nodeId, c.id, thumbnail);
        else showPlaceholder(tile, c.noPreview ? `no preview: ${c.noPreview}` : 'no image yet');
        const fps = cameraFps[id];
        tile.caption.textContent = `${id} · ${fps == null ? '–' : fps.toFixed(1)} fps · ${n.drops[c.id] ?? 0} drops`;
      }
    }
    const keep = new Set(wanted);
    for (const [id, tile] of tiles) if (!keep.has(tile.figure)) tiles.delete(id);
    const box = $('#cameras');
    if (wanted.length !== box.children.length || wanted.some((f, i) => box.children[i] !== f)) box.replaceChildren(...wanted);
  }

  function addEvent(e) {
    const li = document.createElement('li');
    li.textContent = `${new Date(e.at).toLocaleTimeString()}  ${e.text}`;
    $('#events').prepend(li);
    while ($('#events').children.length > 50) $('#events').lastChild.remove();
  }

  const source = new EventSource('/events');
  source.addEventListener('events', (m) => JSON.parse(m.data).forEach(addEvent));
  source.addEventListener('event', (m) => addEvent(JSON.parse(m.data)));
  source.addEventListener('tick', (m) => {
    const t = JSON.parse(m.data);
    const x = t.at / 1000;
    // The header counts what the table lists, by state.
    const count = (state) => t.nodes.filter((n) => n.state === state).length;
    $('#summary').textContent =
      `${count('connected')} connected · ${count('reconnecting')} reconnecting · ${count('departed')} departed · ` +
      `${t.groups} global groups (${t.incomplete} incomplete) · span p50 ${us(t.spanP50Ns)}`;
    renderNodes(t.nodes, t.reference);
    renderCameras(t.nodes, t.cameraFps ?? {}, t.thumbnails ?? {});
    if (t.spanP50Ns != null) {
      push(spanData, [x, t.spanP50Ns / 1000, t.spanMaxNs / 1000]);
      spanChart.setData(spanData);
    }
    // Departed nodes have no phase: they leave the chart.
    const ids = t.nodes.filter((n) => n.state !== 'departed').map((n) => n.nodeId);
    if (ids.join() !== phaseSeries.join()) rebuildPhaseChart(ids);
    push(phaseData, [
      x,
      ...phaseSeries.map((id) => {
        const n = t.nodes.find((m) => m.nodeId === id);
        return n && n.residualPhaseNs != null ? n.residualPhaseNs / 1000 : null;
      }),
    ]);
    phaseChart.setData(phaseData);
    document.body.dataset.ticks = String((Number(document.body.dataset.ticks) || 0) + 1);
  });
  source.onerror = () => {
    $('#summary').textContent = 'disconnected from the server — retrying…';
  };
})();
