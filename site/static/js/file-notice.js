// Opened from disk (file://), the browser refuses the module scripts and data
// files the figures need, so they stay empty. A classic script (modules do not
// run from file://) reveals the page's one-line explanation of how to serve it.
if (window.location.protocol === "file:") {
  const notice = document.getElementById("file-notice");
  if (notice) notice.hidden = false;
}
