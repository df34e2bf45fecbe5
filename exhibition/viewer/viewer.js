// A Caravan exhibition pack's offline viewer. Reads the pack's IIIF Collection and manifests,
// shows every work with its label in the site's languages (right to left where the language
// is), deep-zoom images from the static IIIF tiles (OpenSeadragon) and video from HLS
// (hls.js, or the browser's own HLS, or the MP4), with rights and attribution under each work.
//
// The IIIF documents address the pack at the site's base URL; the viewer reads them from
// wherever the pack is served instead (an address under the base URL becomes one relative to
// this page), so a pack works from a kiosk's own server, a laptop or a USB stick's folder.
(function () {
  'use strict';

  const site = JSON.parse(document.getElementById('caravan-site').textContent);
  const RTL = site.right_to_left || [];
  const $ = (id) => document.getElementById(id);
  let current = null; // what the open work holds (a zoom viewer, an HLS player) to release

  /** An address of the pack, as this page reaches it. */
  function local(url) {
    if (typeof url !== 'string') return url;
    const base = site.base_url;
    const relative = base && url.startsWith(base) ? url.slice(base.length) : url;
    return new URL(relative, document.baseURI).href;
  }

  function direction(language) {
    const primary = String(language || '').toLowerCase().split('-')[0];
    return RTL.includes(primary) ? 'rtl' : 'auto';
  }

  /** The text of a IIIF language map in the site's first language that has one. */
  function pick(map) {
    if (!map || typeof map !== 'object') return null;
    const languages = Object.keys(map);
    const order = [...site.languages, 'none', ...languages];
    for (const language of order) {
      const values = map[language];
      if (Array.isArray(values) && values.length) {
        return { language, text: values.join('; ') };
      }
    }
    return null;
  }

  /** Puts a language map's text into `element`, with its language and direction. */
  function say(element, map) {
    const found = pick(map);
    element.textContent = found ? found.text : '';
    if (found && found.language !== 'none') {
      element.lang = found.language;
    } else {
      element.removeAttribute('lang');
    }
    element.dir = found ? direction(found.language) : 'auto';
    return found;
  }

  async function json(url) {
    const response = await fetch(url);
    if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
    return response.json();
  }

  function status(text) {
    $('status').textContent = text;
  }

  async function start() {
    const collection = await json(local(site.collection));
    say($('exhibition-title'), collection.label);
    const list = $('works');
    for (const item of collection.items || []) {
      const entry = document.createElement('li');
      entry.className = 'work-card';
      const button = document.createElement('button');
      button.type = 'button';
      const thumbnail = (item.thumbnail || [])[0];
      if (thumbnail) {
        const picture = document.createElement('img');
        picture.src = local(thumbnail.id);
        picture.alt = '';
        picture.loading = 'lazy';
        button.append(picture);
      }
      const label = document.createElement('span');
      label.className = 'label';
      say(label, item.label);
      button.append(label);
      button.addEventListener('click', () => open(item).catch(failed));
      entry.append(button);
      list.append(entry);
    }
    document.body.dataset.works = String(list.children.length);
    status('');
  }

  function close() {
    if (current && current.viewer) current.viewer.destroy();
    if (current && current.hls) current.hls.destroy();
    current = null;
    $('stage').replaceChildren();
    $('work').hidden = true;
    $('works').hidden = false;
  }

  /** The painting annotation's body of the manifest's first canvas. */
  function painted(manifest) {
    const canvas = (manifest.items || [])[0] || {};
    const page = (canvas.items || [])[0] || {};
    const annotation = (page.items || [])[0] || {};
    return { canvas, body: annotation.body || {} };
  }

  async function open(item) {
    close();
    const manifest = await json(local(item.id));
    $('works').hidden = true;
    $('work').hidden = false;
    $('back').textContent = document.dir === 'rtl' ? '→' : '←';
    say($('work-title'), manifest.label);
    say($('work-summary'), manifest.summary);
    const metadata = $('work-metadata');
    metadata.replaceChildren();
    for (const entry of manifest.metadata || []) {
      const term = document.createElement('dt');
      say(term, entry.label);
      const value = document.createElement('dd');
      say(value, entry.value);
      metadata.append(term, value);
    }
    const statement = manifest.requiredStatement;
    say($('work-attribution'), statement ? statement.value : null);
    const rights = $('work-rights');
    rights.replaceChildren();
    if (manifest.rights) {
      const link = document.createElement('a');
      link.href = manifest.rights;
      link.textContent = manifest.rights;
      link.rel = 'license';
      rights.append(link);
    }
    const { canvas, body } = painted(manifest);
    const choices = body.type === 'Choice' ? body.items || [] : [body];
    const work = { manifest: item.id };
    current = work;
    if (choices.some((c) => c.type === 'Video')) {
      showVideo(work, choices, manifest);
    } else {
      await showImage(work, choices[0] || {}, canvas);
    }
    document.body.dataset.open = item.id;
  }

  async function showImage(work, body, canvas) {
    const service = (body.service || []).find((s) => String(s.type || s['@type']).startsWith('ImageService'));
    const stage = $('stage');
    if (!service) {
      const picture = document.createElement('img');
      picture.src = local(body.id);
      picture.alt = '';
      stage.append(picture);
      return;
    }
    const info = await json(local(`${service.id}/info.json`));
    info.id = local(info.id);
    const zoom = document.createElement('div');
    zoom.className = 'zoom';
    stage.append(zoom);
    let drawn = 0;
    work.viewer = OpenSeadragon({
      element: zoom,
      tileSources: info,
      drawer: 'canvas',
      showNavigationControl: false,
      crossOriginPolicy: 'Anonymous',
      gestureSettingsMouse: { clickToZoom: false },
    });
    work.viewer.addHandler('tile-drawn', () => {
      drawn += 1;
      zoom.dataset.tilesDrawn = String(drawn);
    });
    work.viewer.addHandler('open-failed', (event) => failed(new Error(event.message)));
    zoom.dataset.width = String(canvas.width || '');
  }

  function showVideo(work, choices, manifest) {
    const video = document.createElement('video');
    video.controls = true;
    video.playsInline = true;
    video.muted = true; // a kiosk starts a work without a click; the visitor turns sound on
    video.autoplay = true;
    const poster = (manifest.thumbnail || [])[0];
    if (poster) video.poster = local(poster.id);
    $('stage').append(video);
    const stream = choices.find((c) => c.format === 'application/vnd.apple.mpegurl');
    const mp4 = choices.find((c) => c.format === 'video/mp4');
    subtitles(video, manifest);
    if (stream && window.Hls && Hls.isSupported()) {
      // Subtitles come from the manifest's annotations (as <track>s), whichever player plays.
      work.hls = new Hls({ enableWebVTT: false, enableIMSC1: false, enableCEA708Captions: false });
      work.hls.on(Hls.Events.ERROR, (_, data) => {
        if (data.fatal) failed(new Error(`HLS: ${data.details}`));
      });
      work.hls.loadSource(local(stream.id));
      work.hls.attachMedia(video);
      video.dataset.source = 'hls.js';
    } else if (stream && video.canPlayType('application/vnd.apple.mpegurl')) {
      video.src = local(stream.id);
      video.dataset.source = 'native HLS';
    } else if (mp4) {
      video.src = local(mp4.id);
      video.dataset.source = 'mp4';
    }
    video.play().catch(() => {});
  }

  /** A <track> per `supplementing` WebVTT annotation; the site's first language shown. */
  function subtitles(video, manifest) {
    const { canvas } = painted(manifest);
    const bodies = [];
    for (const page of canvas.annotations || []) {
      for (const annotation of page.items || []) {
        const body = annotation.body || {};
        if (annotation.motivation === 'supplementing' && body.format === 'text/vtt') bodies.push(body);
      }
    }
    const rank = (body) => {
      const i = site.languages.indexOf(body.language);
      return i < 0 ? site.languages.length : i;
    };
    bodies.sort((a, b) => rank(a) - rank(b));
    bodies.forEach((body, i) => {
      const track = document.createElement('track');
      track.kind = 'subtitles';
      track.src = local(body.id);
      track.srclang = body.language || '';
      const label = pick(body.label);
      track.label = label ? label.text : track.srclang;
      track.default = i === 0;
      video.append(track);
    });
  }

  function failed(error) {
    console.error(error);
    status(String(error.message || error));
  }

  $('back').addEventListener('click', close);
  start().catch(failed);
})();
