import 'uplot/dist/uPlot.min.css';
import './charts.css';
import './base.css';
import './experiments.css';
import './hardware.css';
import './tensorboard.css';
import './models.css';
import './services.css';
