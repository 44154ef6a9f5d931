// The wall layout's promise (wall.css): on the first screen, the emergency panel and every tile's
// headline figure. The emergency panel grows with the alerts waiting; when it does, the first row
// of tiles gives way (its lists end early, faded) so the next row's headline figures stay in view.
// CSS cannot know the panel's height, so this measures it and hands the first row its limit.

// Space left under the next row's headline figures, so they do not touch the screen's edge.
const MARGIN_PX = 8;

function bottomOf(el) {
  return el.getBoundingClientRect().bottom;
}

export class FirstScreen {
  /** `scroller` scrolls the page's content (main); `grid` holds the tiles after `emergencies`. */
  constructor({ scroller, emergencies, grid }) {
    Object.assign(this, { scroller, emergencies, grid, frame: null });
    this.observer = new ResizeObserver(() => this.schedule());
    for (const el of [scroller, emergencies, grid]) this.observer.observe(el);
  }

  /** Fit again at the next frame (tiles redrawn, the panel grown, the window resized). */
  schedule() {
    if (this.frame === null) this.frame = requestAnimationFrame(() => { this.frame = null; this.fit(); });
  }

  fit() {
    const style = getComputedStyle(this.grid);
    const tiles = [...this.grid.children];
    const tops = new Set(tiles.map((tile) => tile.offsetTop));
    const limit = style.getPropertyValue("--first-screen").trim() === "fit" && tops.size > 1
      ? this.firstRowLimit(tiles, parseFloat(style.rowGap) || 0)
      : null;
    const value = limit === null ? "" : `${Math.floor(limit)}px`;
    if (this.grid.style.getPropertyValue("--first-row-max") !== value) {
      if (value) this.grid.style.setProperty("--first-row-max", value);
      else this.grid.style.removeProperty("--first-row-max");
    }
    for (const tile of tiles) this.markClipped(tile);
  }

  /** How tall the first row may be: the screen's height below its top, less the next row's
   * headline figures (measured on the tiles: title, headline and the space above them). */
  firstRowLimit(tiles, rowGap) {
    const headlines = tiles.map((tile) => tile.querySelector('[data-role="headline"]'));
    if (headlines.some((el) => !el)) return null; // still loading: nothing to keep in view yet
    const peek = Math.max(...tiles.map((tile, i) => bottomOf(headlines[i]) - tile.getBoundingClientRect().top));
    // Both measured as if the content were scrolled to its top.
    const screenBottom = this.scroller.getBoundingClientRect().top + this.scroller.clientHeight;
    const gridTop = this.grid.getBoundingClientRect().top + this.scroller.scrollTop;
    const room = screenBottom - gridTop - rowGap - peek - MARGIN_PX;
    // Never less than the first row's own headline figures and a line or two of their lists.
    return Math.max(room, peek * 2);
  }

  /** A tile whose list the limit cut short says so (wall.css fades its end). */
  markClipped(tile) {
    const body = tile.querySelector(".tile-body");
    const last = body && body.lastElementChild;
    const clipped = Boolean(last) && bottomOf(last) > bottomOf(body) + 1;
    if (tile.dataset.clipped !== String(clipped)) tile.dataset.clipped = String(clipped);
  }
}
