// The book's presentation behaviour (book/_ext/presentation.py).
(() => {
  "use strict";

  // A click, or Enter, on a figure shows it at full size; Escape or a click closes it.
  const openLightbox = (img) => {
    const opener = document.activeElement;
    const overlay = document.createElement("div");
    overlay.className = "gh-lightbox";
    overlay.setAttribute("role", "dialog");
    overlay.setAttribute("aria-modal", "true");
    overlay.setAttribute("aria-label", "Enlarged figure (press Escape to close)");
    overlay.tabIndex = -1;
    const big = document.createElement("img");
    big.src = img.currentSrc || img.src;
    big.alt = img.alt;
    overlay.appendChild(big);
    const close = () => {
      overlay.remove();
      document.removeEventListener("keydown", onKey);
      if (opener && opener.focus) opener.focus();
    };
    const onKey = (event) => { if (event.key === "Escape") close(); };
    overlay.addEventListener("click", close);
    document.addEventListener("keydown", onKey);
    document.body.appendChild(overlay);
    overlay.focus();
  };

  const enableLightbox = () => {
    const images = document.querySelectorAll(
      "article.bd-article .cell_output img, article.bd-article figure img");
    for (const img of images) {
      const link = img.closest("a");
      if (link && !link.classList.contains("image-reference")) continue;  // a real link
      const target = link || img;
      if (!link) {
        img.tabIndex = 0;
        img.setAttribute("role", "button");
        img.setAttribute("aria-label", `Enlarge figure: ${img.alt}`);
      }
      target.addEventListener("click", (event) => { event.preventDefault(); openLightbox(img); });
      target.addEventListener("keydown", (event) => {
        if (event.key === "Enter" || event.key === " ") { event.preventDefault(); openLightbox(img); }
      });
    }
  };

  // On phones, one card a row, each cell labelled with its column's header.
  const stackTables = () => {
    if (!document.querySelector('meta[name="phone-stacked-tables"]')) return;
    for (const table of document.querySelectorAll("article.bd-article table")) {
      const headers = [...table.querySelectorAll("thead th")].map((th) => th.textContent.trim());
      if (!headers.length) continue;
      table.classList.add("stack-on-phone");
      for (const row of table.querySelectorAll("tbody tr")) {
        [...row.children].forEach((cell, index) => {
          if (headers[index]) cell.dataset.label = headers[index];
        });
      }
    }
  };

  // Search: formulas in result titles are typeset; snippets show "…" for a formula.
  const improveSearch = () => {
    if (typeof Search === "undefined" || !Search.htmlToText) return;
    const htmlToText = Search.htmlToText;
    Search.htmlToText = (htmlString, anchor) => {
      const doc = new DOMParser().parseFromString(htmlString, "text/html");
      doc.querySelectorAll(".math, mjx-container, script[type^='math']").forEach((el) => {
        el.replaceWith(doc.createTextNode("…"));
      });
      return htmlToText(doc.documentElement.outerHTML, anchor);
    };
    const results = document.getElementById("search-results");
    if (!results) return;
    results.classList.add("mathjax_process");
    let pending = null;
    const options = { childList: true, subtree: true };
    const observer = new MutationObserver(() => {
      clearTimeout(pending);
      pending = setTimeout(typeset, 100);
    });
    const typeset = () => {
      if (!(window.MathJax && MathJax.typesetPromise)) return;
      observer.disconnect();
      MathJax.typesetPromise([results]).finally(() => observer.observe(results, options));
    };
    observer.observe(results, options);
  };

  const ready = (fn) => (document.readyState === "loading")
    ? document.addEventListener("DOMContentLoaded", fn) : fn();
  ready(() => { enableLightbox(); stackTables(); improveSearch(); });
})();
