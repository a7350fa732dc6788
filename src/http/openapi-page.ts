/**
 * The browsable API page: one HTML document with its own style and script that reads
 * ./openapi.json from this server. Nothing is loaded from anywhere else (Berth runs where there
 * is no internet).
 */
export const DOCS_PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Berth API</title>
<style>
  body { font: 14px/1.45 system-ui, sans-serif; margin: 0; color: #1d2330; background: #f6f7f9; }
  header { background: #1d2330; color: #fff; padding: 12px 20px; display: flex; gap: 16px; align-items: center; flex-wrap: wrap; }
  header h1 { font-size: 18px; margin: 0; }
  header input { flex: 1; min-width: 200px; padding: 6px 8px; border-radius: 4px; border: 0; font: inherit; }
  main { padding: 12px 20px 40px; max-width: 1100px; }
  h2 { font-size: 15px; margin: 22px 0 6px; text-transform: uppercase; letter-spacing: .04em; color: #4a5468; }
  details { background: #fff; border: 1px solid #dde1e8; border-radius: 4px; margin: 4px 0; }
  summary { cursor: pointer; padding: 6px 10px; display: flex; gap: 10px; align-items: baseline; }
  .m { font: bold 12px monospace; width: 56px; text-align: center; border-radius: 3px; padding: 2px 0; color: #fff; flex: none; }
  .get { background: #2f6fd6; } .head { background: #6b7a99; } .post { background: #1f9d55; }
  .put { background: #c77c02; } .patch { background: #8a4fd6; } .delete { background: #cf3030; }
  .p { font-family: monospace; word-break: break-all; }
  .s { color: #5a6477; }
  .body { padding: 4px 14px 12px; border-top: 1px solid #eef0f4; }
  table { border-collapse: collapse; width: 100%; margin: 6px 0; }
  td, th { text-align: left; padding: 3px 6px; border-bottom: 1px solid #eef0f4; vertical-align: top; }
  pre { background: #f3f4f7; padding: 8px; overflow: auto; max-height: 320px; margin: 4px 0; }
  .err { color: #cf3030; }
</style>
</head>
<body>
<header><h1 id="title">Berth API</h1><input id="filter" type="search" placeholder="filter by path, tag or summary" autofocus></header>
<main id="ops"><p>Loading openapi.json…</p></main>
<script>
(function () {
  var main = document.getElementById('ops');
  var filter = document.getElementById('filter');
  function el(tag, attrs, children) {
    var e = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    (children || []).forEach(function (c) { e.appendChild(typeof c === 'string' ? document.createTextNode(c) : c); });
    return e;
  }
  function json(v) { return el('pre', {}, [JSON.stringify(v, null, 2)]); }
  function render(doc, q) {
    main.textContent = '';
    var groups = {};
    Object.keys(doc.paths).forEach(function (path) {
      Object.keys(doc.paths[path]).forEach(function (method) {
        var op = doc.paths[path][method];
        var text = (method + ' ' + path + ' ' + (op.tags || []).join(' ') + ' ' + (op.summary || '')).toLowerCase();
        if (q && text.indexOf(q) < 0) return;
        var tag = (op.tags && op.tags[0]) || 'other';
        (groups[tag] = groups[tag] || []).push({ path: path, method: method, op: op });
      });
    });
    Object.keys(groups).sort().forEach(function (tag) {
      main.appendChild(el('h2', {}, [tag]));
      groups[tag].forEach(function (o) {
        var body = el('div', { class: 'body' });
        if (o.op.description) body.appendChild(el('p', {}, [o.op.description]));
        if (o.op.parameters && o.op.parameters.length) {
          var rows = o.op.parameters.map(function (p) {
            return el('tr', {}, [el('td', { class: 'p' }, [p.name + (p.required ? ' *' : '')]), el('td', {}, [p.in]), el('td', { class: 'p' }, [JSON.stringify(p.schema)]), el('td', {}, [p.description || ''])]);
          });
          body.appendChild(el('table', {}, [el('tr', {}, [el('th', {}, ['parameter']), el('th', {}, ['in']), el('th', {}, ['schema']), el('th', {}, [''])])].concat(rows)));
        }
        if (o.op.requestBody) { body.appendChild(el('strong', {}, ['request body'])); body.appendChild(json(o.op.requestBody.content['application/json'].schema)); }
        Object.keys(o.op.responses || {}).forEach(function (code) {
          var r = o.op.responses[code];
          body.appendChild(el('strong', {}, [code + ' ' + (r.description || '')]));
          if (r.content) body.appendChild(json(r.content['application/json'].schema));
        });
        main.appendChild(el('details', {}, [
          el('summary', {}, [el('span', { class: 'm ' + o.method }, [o.method.toUpperCase()]), el('span', { class: 'p' }, [o.path]), el('span', { class: 's' }, [o.op.summary || ''])]),
          body,
        ]));
      });
    });
    if (!main.firstChild) main.appendChild(el('p', {}, ['No operation matches.']));
  }
  fetch('openapi.json').then(function (r) { return r.json(); }).then(function (doc) {
    document.getElementById('title').textContent = doc.info.title + ' ' + doc.info.version;
    render(doc, '');
    filter.addEventListener('input', function () { render(doc, filter.value.trim().toLowerCase()); });
  }).catch(function (e) { main.innerHTML = ''; main.appendChild(el('p', { class: 'err' }, ['Could not load openapi.json: ' + e])); });
})();
</script>
</body>
</html>
`;
