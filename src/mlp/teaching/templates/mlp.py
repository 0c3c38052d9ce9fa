"""Problem Set 4, Problem 2: a two-layer fully connected network (an MLP with one hidden layer).

Write your code in this file where it says TODO, then run the notebook's cells to check each part.
Implement the loss and gradients in a vectorised way: a few NumPy operations on whole batches,
without Python loops over examples.

The notebook imports this file with ``from mlp import TwoLayerMLP``, so keep its name, and keep
the names and signatures of the methods: ``loss``, ``train`` and ``predict`` are graded.
"""

import numpy as np


class TwoLayerMLP:
    """A two-layer fully connected network for classification.

    input (D) -> fully connected -> sigmoid or ReLU -> fully connected (C scores) -> softmax

    It is trained with the softmax cross-entropy loss, averaged over the batch, plus L2
    regularisation of the weight matrices, ``0.5 * reg * (sum(W1 ** 2) + sum(W2 ** 2))``
    (the biases are not regularised).

    The parameters are kept in the dictionary ``self.params``:
        W1: first layer weights, (D, H)
        b1: first layer biases, (H,)
        W2: second layer weights, (H, C)
        b2: second layer biases, (C,)
    """

    def __init__(self, input_size, hidden_size, output_size, std=1e-4, activation='relu'):
        """Weights are drawn as ``std * np.random.randn(...)`` (W1 first, then W2), biases are
        zero.

        Inputs:
        - input_size: the dimension D of the input data.
        - hidden_size: the number H of units in the hidden layer.
        - output_size: the number of classes C.
        - std: the standard deviation of the initial weights.
        - activation: 'sigmoid' or 'relu', the hidden layer's activation function.
        """
        if activation not in ('sigmoid', 'relu'):
            raise ValueError(f"activation must be 'sigmoid' or 'relu'; got {activation!r}")
        self.params = {}
        self.params['W1'] = std * np.random.randn(input_size, hidden_size)
        self.params['b1'] = np.zeros(hidden_size)
        self.params['W2'] = std * np.random.randn(hidden_size, output_size)
        self.params['b2'] = np.zeros(output_size)
        self.activation = activation

    def loss(self, X, y=None, reg=0.0):
        """The class scores, or the loss and its gradients, for a batch of data.

        Inputs:
        - X: input data, (N, D); each X[i] is one example.
        - y: the labels, (N,); y[i] in 0 .. C-1 is the label of X[i]. Optional.
        - reg: the regularisation strength.

        Returns:
        If y is None, the scores, (N, C): scores[i, c] is the score of class c for X[i].

        Otherwise a tuple (loss, grads):
        - loss: the loss of this batch (data loss plus regularisation), a float.
        - grads: a dictionary with the same keys as self.params, mapping each parameter's name
          to the gradient of the loss with respect to it (an array of the parameter's shape).
        """
        W1, b1 = self.params['W1'], self.params['b1']
        W2, b2 = self.params['W2'], self.params['b2']
        N, D = X.shape

        # Forward pass: the hidden layer's output h, (N, H), then the class scores, (N, C).
        if self.activation == 'sigmoid':
            # BEGIN SOLUTION Q2.1: the hidden layer h = sigmoid(X W1 + b1)
            z1 = X.dot(W1) + b1
            with np.errstate(over='ignore'):  # exp(-z1) = inf for z1 < -709 gives h = 0
                h = 1 / (1 + np.exp(-z1))
            # END SOLUTION
        else:
            # BEGIN SOLUTION Q2.4: the hidden layer h = ReLU(X W1 + b1)
            z1 = X.dot(W1) + b1
            h = np.maximum(z1, 0)
            # END SOLUTION
        # BEGIN SOLUTION Q2.1: the class scores from h
        scores = h.dot(W2) + b2
        # END SOLUTION

        # If the targets are not given, we are done.
        if y is None:
            return scores

        # The loss: softmax cross-entropy averaged over the batch, plus L2 regularisation.
        # Subtracting each row's largest score first keeps np.exp from overflowing (the
        # log-sum-exp trick); it does not change the softmax.
        shifted = scores - scores.max(axis=1, keepdims=True)
        log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        probs = np.exp(log_probs)
        data_loss = -log_probs[np.arange(N), y].mean()
        loss = data_loss + 0.5 * reg * (np.sum(W1 * W1) + np.sum(W2 * W2))

        # Backward pass: the gradients of the loss with respect to W2, b2, W1 and b1.
        grads = {}
        # BEGIN SOLUTION Q2.2: the gradients of the output layer, and the gradient dh on h
        dscores = probs.copy()
        dscores[np.arange(N), y] -= 1
        dscores /= N
        grads['W2'] = h.T.dot(dscores) + reg * W2
        grads['b2'] = dscores.sum(axis=0)
        dh = dscores.dot(W2.T)
        # END SOLUTION
        if self.activation == 'sigmoid':
            # BEGIN SOLUTION Q2.2: back through the sigmoid, dz1 from dh
            dz1 = dh * h * (1 - h)
            # END SOLUTION
        else:
            # BEGIN SOLUTION Q2.4: back through the ReLU, dz1 from dh
            dz1 = dh * (z1 > 0)
            # END SOLUTION
        # BEGIN SOLUTION Q2.2: the gradients of the first layer
        grads['W1'] = X.T.dot(dz1) + reg * W1
        grads['b1'] = dz1.sum(axis=0)
        # END SOLUTION

        return loss, grads

    def train(self, X, y, X_val, y_val,
              learning_rate=1e-3, learning_rate_decay=0.95,
              reg=1e-5, num_epochs=10,
              batch_size=200, verbose=False):
        """Train this network with minibatch stochastic gradient descent.

        Each epoch shuffles the training data and cuts it into max(N // batch_size, 1)
        minibatches; after each epoch the learning rate is multiplied by learning_rate_decay.

        Inputs:
        - X: training data, (N, D).
        - y: training labels, (N,); y[i] = c means that X[i] has label c, 0 <= c < C.
        - X_val: validation data, (N_val, D).
        - y_val: validation labels, (N_val,).
        - learning_rate: the learning rate of the first epoch.
        - learning_rate_decay: the factor the learning rate is multiplied by after each epoch.
        - reg: the regularisation strength.
        - num_epochs: the number of passes over the training data.
        - batch_size: the number of training examples per step.
        - verbose: print the progress after each epoch.

        Returns a dictionary of lists:
        - loss_history: the loss of each iteration's minibatch.
        - grad_magnitude_history: the norm of the gradient on W1 at each iteration.
        - train_acc_history: the accuracy on the epoch's last minibatch, after each epoch.
        - val_acc_history: the accuracy on the validation set, after each epoch.
        """
        num_train = X.shape[0]
        iterations_per_epoch = max(num_train // batch_size, 1)

        loss_history = []
        grad_magnitude_history = []
        train_acc_history = []
        val_acc_history = []

        for epoch in range(num_epochs):
            order = np.random.permutation(num_train)
            for it in range(iterations_per_epoch):
                batch = order[it * batch_size:(it + 1) * batch_size]
                X_batch, y_batch = X[batch], y[batch]

                # The loss and gradients of this minibatch, then a gradient descent step.
                loss, grads = self.loss(X_batch, y=y_batch, reg=reg)
                loss_history.append(loss)
                grad_magnitude_history.append(np.linalg.norm(grads['W1']))
                for name in self.params:
                    self.params[name] -= learning_rate * grads[name]

            # After each epoch: the accuracies, and a smaller learning rate.
            train_acc = (self.predict(X_batch) == y_batch).mean()
            val_acc = (self.predict(X_val) == y_val).mean()
            train_acc_history.append(train_acc)
            val_acc_history.append(val_acc)
            if verbose:
                print(f'Epoch {epoch + 1}: loss {loss:f}, train acc {train_acc:f}, '
                      f'val acc {val_acc:f}')
            learning_rate *= learning_rate_decay

        return {
            'loss_history': loss_history,
            'grad_magnitude_history': grad_magnitude_history,
            'train_acc_history': train_acc_history,
            'val_acc_history': val_acc_history,
        }

    def predict(self, X):
        """The labels this network predicts for the data X.

        Inputs:
        - X: data, (N, D).

        Returns:
        - y_pred: the predicted labels, (N,) integers; y_pred[i] = c means that X[i] is
          predicted to have label c, 0 <= c < C.
        """
        # BEGIN SOLUTION Q2.3: the label of each row's highest score
        return np.argmax(self.loss(X), axis=1)
        # END SOLUTION
