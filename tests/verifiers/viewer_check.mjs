// Drives Debian's Chromium (headless, through playwright-core) through a pack's offline
// viewer and reports what a visitor would see, as one JSON object on stdout, for the Rust
// test to judge: how many works the collection lists; the exhibition title's language and
// laid-out direction; every work opened in turn (its kind, title, rights, attribution); for
// the first image work, the tile requests and their answers, the
// tiles OpenSeadragon drew and how many distinct colours its canvas holds; for every
// video work, how far playback got, through which player, and its subtitle tracks (language,
// mode, cues, the cue on screen); every request for anything
// outside the local server; console errors. A screenshot of each step goes to --shots.
//
// node viewer_check.mjs <url of index.html> --shots <folder>
import { chromium } from 'playwright-core';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

const [url, flag, shots] = process.argv.slice(2);
if (!url || flag !== '--shots' || !shots) {
  console.error('usage: viewer_check.mjs <url> --shots <folder>');
  process.exit(2);
}
mkdirSync(shots, { recursive: true });
const origin = new URL(url).origin;
const report = { works: 0, outside: [], console_errors: [], tiles: [], opened: [], image: null, videos: [] };

const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync',
    '--autoplay-policy=no-user-gesture-required'],
});
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.on('request', (request) => {
    const target = request.url();
    if (!target.startsWith(origin) && !target.startsWith('data:') && !target.startsWith('blob:')) {
      report.outside.push(target);
    }
  });
  page.on('response', (response) => {
    if (/\/iiif\/.+\.(jpg|webp|png)$/.test(response.url())) {
      report.tiles.push({ url: response.url(), status: response.status() });
    }
  });
  page.on('console', (message) => {
    if (message.type() === 'error') report.console_errors.push(message.text());
  });
  page.on('pageerror', (error) => report.console_errors.push(String(error)));

  await page.goto(url);
  await page.waitForSelector('body[data-works]', { timeout: 20000 });
  report.works = Number(await page.getAttribute('body', 'data-works'));
  report.title = await page.$eval('#exhibition-title', (e) => ({
    text: e.textContent,
    lang: e.lang,
    direction: getComputedStyle(e).direction,
  }));
  report.page = await page.evaluate(() => ({
    lang: document.documentElement.lang,
    direction: getComputedStyle(document.body).direction,
  }));
  report.labels = await page.$$eval('.work-card .label', (labels) => labels.map((e) => ({
    text: e.textContent, lang: e.lang, direction: getComputedStyle(e).direction,
  })));
  await page.screenshot({ path: join(shots, 'collection.png'), fullPage: true });

  const cards = await page.$$('.work-card button');
  for (let i = 0; i < cards.length; i++) {
    await page.click(`.work-card:nth-child(${i + 1}) button`);
    const shown = await page.waitForSelector('#stage .zoom, #stage video, #stage > img', { timeout: 20000 });
    const kind = await shown.evaluate((e) => e.tagName.toLowerCase());
    if (kind === 'div' && !report.image) {
      report.image = await zoomed(page);
      await page.screenshot({ path: join(shots, 'image.png') });
    } else if (kind === 'video') {
      report.videos.push(await played(page));
      await page.screenshot({ path: join(shots, `video-${report.videos.length}.png`) });
    }
    report.opened.push(await page.evaluate((kind) => ({
      kind,
      title: document.getElementById('work-title').textContent,
      rights: Array.from(document.querySelectorAll('#work-rights a'), (a) => a.href),
      attribution: document.getElementById('work-attribution').textContent,
    }), kind));
    await page.click('#back');
  }
} finally {
  await browser.close();
}
console.log(JSON.stringify(report));

/** Waits for OpenSeadragon to draw tiles; counts them and the canvas's distinct colours. */
async function zoomed(page) {
  try {
    await page.waitForFunction(() => {
      const zoom = document.querySelector('#stage .zoom');
      return zoom && Number(zoom.dataset.tilesDrawn || 0) > 0;
    }, null, { timeout: 20000 });
  } catch (error) {
    return { drawn: 0, error: String(error) };
  }
  await page.waitForTimeout(500);
  return page.evaluate(() => {
    const zoom = document.querySelector('#stage .zoom');
    const canvas = zoom.querySelector('canvas');
    const context = canvas.getContext('2d');
    const { data } = context.getImageData(0, 0, canvas.width, canvas.height);
    const colours = new Set();
    for (let i = 0; i < data.length && colours.size < 1000; i += 4 * 97) {
      colours.add((data[i] << 16) | (data[i + 1] << 8) | data[i + 2]);
    }
    return { drawn: Number(zoom.dataset.tilesDrawn), distinct_colours: colours.size };
  });
}

/** Waits for the video to play past one second. */
async function played(page) {
  let error = null;
  try {
    // Paused as soon as it passes one second, so what is on screen then can be read.
    await page.waitForFunction(() => {
      const video = document.querySelector('#stage video');
      if (video.currentTime <= 1.0) return false;
      video.pause();
      return true;
    }, null, { timeout: 30000 });
  } catch (e) {
    error = String(e);
  }
  const state = await page.$eval('#stage video', (v) => ({
    current_time: v.currentTime,
    source: v.dataset.source,
    media_error: v.error ? v.error.message || String(v.error.code) : null,
    subtitles: Array.from(v.textTracks, (t) => ({
      language: t.language,
      mode: t.mode,
      cues: t.cues ? t.cues.length : 0,
      shown: t.activeCues ? Array.from(t.activeCues, (c) => c.text) : [],
    })),
  }));
  const title = await page.$eval('#work-title', (e) => e.textContent);
  return { title, ...state, error };
}
