// Slice viewer: three slices (sagittal, coronal, axial) of a map, moved by range sliders or
// by clicking a slice (which moves the other two to the clicked point). Each slice is a PNG
// from the page's slice address; requests are coalesced to one per animation frame.
(function () {
  "use strict";
  const AXES = ["x", "y", "z"];
  // For each shown slice: which volume axes run across (left to right) and up the picture.
  const PLANE = { x: [1, 2], y: [0, 2], z: [0, 1] };

  function setUp(figure) {
    if (figure.dataset.ready) return;  // the macro's script tag may come more than once
    figure.dataset.ready = "1";
    const info = JSON.parse(figure.dataset.info);
    const src = figure.dataset.src;
    const at = info.peak.slice();
    const images = {}, sliders = {}, outputs = {};
    AXES.forEach(function (axis) {
      images[axis] = figure.querySelector("img[data-axis=" + axis + "]");
      sliders[axis] = figure.querySelector("input[data-axis=" + axis + "]");
      outputs[axis] = figure.querySelector("output[data-axis=" + axis + "]");
    });
    let pending = null;

    function show() {
      pending = null;
      AXES.forEach(function (axis, n) {
        const url = src + "?axis=" + axis + "&index=" + at[n];
        if (images[axis].getAttribute("src") !== url) images[axis].setAttribute("src", url);
        sliders[axis].value = at[n];
        outputs[axis].textContent = (info.origin[n] + info.step[n] * at[n]).toFixed(1);
      });
    }
    function move(n, value) {
      at[n] = Math.max(0, Math.min(info.shape[n] - 1, value));
      if (pending === null) pending = window.requestAnimationFrame(show);
    }
    AXES.forEach(function (axis, n) {
      sliders[axis].addEventListener("input", function () { move(n, Number(this.value)); });
      images[axis].addEventListener("click", function (event) {
        const box = this.getBoundingClientRect();
        const [across, up] = PLANE[axis];
        move(across, Math.floor((event.clientX - box.left) / box.width * info.shape[across]));
        move(up, info.shape[up] - 1 -
             Math.floor((event.clientY - box.top) / box.height * info.shape[up]));
      });
    });
  }

  document.querySelectorAll("[data-slice-viewer]").forEach(setUp);
})();
